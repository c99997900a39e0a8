import { parseDockhand } from '../src/core/grammar.ts';
import { resolveTarget } from '../src/core/targets.ts';
import { COMMANDS, type CommandName } from '../src/core/usage.ts';
import { DockhandError } from '../src/errors.ts';
import type { CommandHandler } from './boundary.ts';
import type { CommandDeps } from './deps.ts';

export const helpText = (): string =>
  [
    '*dockhand* builds, approves and rolls out your services. Commands:',
    ...(Object.keys(COMMANDS) as CommandName[]).map(
      (name) => `• \`/${name} ${COMMANDS[name].usage}\` — ${COMMANDS[name].description}`,
    ),
    '`to` and `in` are interchangeable; without one, the service’s first environment is meant.',
  ].join('\n');

/** `/dockhand help | lock | unlock | history | ips`. */
export const dockhandCommand =
  (deps: CommandDeps): CommandHandler =>
  async ({ command, ack }) => {
    const request = parseDockhand(command.text);
    if (request.sub === 'help') {
      await ack({ response_type: 'ephemeral', text: helpText() });
      return;
    }
    resolveTarget(deps.config, request.service, request.env);
    throw new DockhandError('invalid', `\`/dockhand ${request.sub}\` is not available in this version of dockhand.`, {
      hint: 'See `/dockhand help` for what it can do today.',
    });
  };
