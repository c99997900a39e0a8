import { resolveTarget } from '../src/core/targets.ts';
import { DockhandError } from '../src/errors.ts';
import type { CommandHandler } from './boundary.ts';
import type { CommandDeps } from './deps.ts';

/**
 * A command whose grammar dockhand already checks but whose work this version does not do yet: it parses and
 * resolves the service like the real one (so a typo is still explained) and then says plainly that it is not
 * available. Nothing starts.
 */
export const unavailableCommand =
  (
    deps: CommandDeps,
    name: string,
    parse: (text: string) => { service: string; env?: string | undefined },
  ): CommandHandler =>
  async ({ command }) => {
    const request = parse(command.text);
    resolveTarget(deps.config, request.service, request.env);
    throw new DockhandError(
      'invalid',
      `\`/${name}\` is not available in this version of dockhand; nothing was changed.`,
      {
        hint: 'See `/dockhand help` for what it can do today.',
      },
    );
  };
