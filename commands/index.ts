import type { App } from '@slack/bolt';
import { parseLogs, parseRollback, parseScale } from '../src/core/grammar.ts';
import { withBoundary } from './boundary.ts';
import { type DeployCommandDeps, deployCommand } from './deploy.ts';
import { dockhandCommand } from './dockhand.ts';
import { statusCommand } from './status.ts';
import { unavailableCommand } from './unavailable.ts';

export type { CommandDeps } from './deps.ts';

/** The only place the slash commands' names appear (manifest.yml registers the same six). */
export const SLASH_COMMANDS = ['/deploy', '/rollback', '/scale', '/status', '/logs', '/dockhand'] as const;

export const registerCommands = (app: App, deps: DeployCommandDeps): void => {
  const register = (name: (typeof SLASH_COMMANDS)[number], handler: ReturnType<typeof statusCommand>) =>
    app.command(name, withBoundary(name, deps, handler));
  register('/status', statusCommand(deps));
  register('/dockhand', dockhandCommand(deps));
  register('/deploy', deployCommand(deps));
  register('/rollback', unavailableCommand(deps, 'rollback', parseRollback));
  register('/scale', unavailableCommand(deps, 'scale', parseScale));
  register('/logs', unavailableCommand(deps, 'logs', parseLogs));
};
