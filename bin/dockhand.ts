#!/usr/bin/env node
import { connectDocker, redactHost } from '../src/adapters/docker/connect.ts';
import { configPath, DEFAULT_CONFIG_PATH, loadConfig } from '../src/config/index.ts';
import { ConfigError, errorMessage } from '../src/errors.ts';
import { cleanExample } from '../src/local/example.ts';

const USAGE = `Usage: dockhand <command>

Commands:
  check-config [file]   validate a config file (default: $DOCKHAND_CONFIG or ${DEFAULT_CONFIG_PATH}); exit 1 if it has problems
  local clean           remove the containers and images the local console's example left on the Docker engine
                        for this checkout (npm run local:clean); a neighbour's are never touched
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

const localClean = async (): Promise<number> => {
  const host = process.env.DOCKER_HOST?.trim() || 'unix:///var/run/docker.sock';
  try {
    const report = await cleanExample(process.env, (target) => connectDocker(target, { env: process.env }));
    const removed = [...report.containers.map((c) => `container ${c}`), ...report.images.map((i) => `image ${i}`)];
    process.stdout.write(
      removed.length === 0
        ? `✓ nothing to clean: the example left nothing on ${redactHost(host)} for this checkout (id ${report.id})\n`
        : `✓ removed ${removed.join(', ')} (this checkout's id: ${report.id})\n`,
    );
    return 0;
  } catch (e) {
    const text = e instanceof ConfigError ? e.message : errorMessage(e);
    process.stderr.write(
      `✗ could not clean up the local example on ${redactHost(host)}: ${text}\n` +
        '  Is the engine running? DOCKER_HOST chooses it, as for `npm start`.\n',
    );
    return 1;
  }
};

const main = async (args: readonly string[]): Promise<number> => {
  const [command, ...rest] = args;
  const asksForHelp = (arg: string | undefined) => arg === 'help' || arg === '--help' || arg === '-h';
  // An option is never a file name: `check-config --help` asks for the usage, `check-config --x` is a mistake.
  const option = rest.find((arg) => arg.startsWith('-'));
  if (command === 'check-config' && option === undefined && rest.length <= 1) return checkConfig(rest[0]);
  if (command === 'local' && rest.length === 1 && rest[0] === 'clean') return localClean();
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
