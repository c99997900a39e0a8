#!/usr/bin/env node
import { configPath, DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/index.ts';
import { ConfigError, errorMessage } from '../src/errors.ts';

const USAGE = `Usage: dockhand <command>

Commands:
  check-config [file]   validate a config file (default: $DOCKHAND_CONFIG or ${DEFAULT_CONFIG_PATH}); exit 1 if it has problems
  help                  show this message`;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const checkConfig = async (file: string | undefined): Promise<number> => {
  const path = configPath(file, process.env);
  try {
    const config = await loadConfig({ path, env: process.env });
    const services = Object.values(config.services);
    const environments = services.reduce((n, s) => n + Object.keys(s.environments).length, 0);
    process.stdout.write(`✓ ${path}: ${plural(services.length, 'service')}, ${plural(environments, 'environment')}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`✗ ${e instanceof ConfigError ? e.message : `${path}: ${errorMessage(e)}`}\n`);
    return 1;
  }
};

const main = async (args: readonly string[]): Promise<number> => {
  const [command, ...rest] = args;
  const asksForHelp = (arg: string | undefined) => arg === 'help' || arg === '--help' || arg === '-h';
  // An option is never a file name: `check-config --help` asks for the usage, `check-config --x` is a mistake.
  const option = rest.find((arg) => arg.startsWith('-'));
  if (command === 'check-config' && option === undefined && rest.length <= 1) return checkConfig(rest[0]);
  const out =
    asksForHelp(command) || (command === 'check-config' && asksForHelp(option)) ? process.stdout : process.stderr;
  if (command !== undefined && out === process.stderr) {
    const problem = command === 'check-config' && option !== undefined ? 'unknown option' : 'unknown command';
    out.write(`dockhand: ${problem} "${option ?? args.join(' ')}"\n\n`);
  }
  out.write(`${USAGE}\n`);
  // Asking for help succeeds; a command that does not exist is a usage error.
  return out === process.stdout ? 0 : 2;
};

process.exitCode = await main(process.argv.slice(2));
