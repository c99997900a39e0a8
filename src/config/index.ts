export { LOG_LEVELS, type LogLevel, readEnv, type Settings } from './env.ts';
export {
  configPath,
  DEFAULT_CONFIG_PATH,
  type Env,
  type LoadConfigOptions,
  loadConfig,
  type ParseConfigOptions,
  parseConfig,
} from './load.ts';
export * from './schema.ts';
