import { DEPLOY_MODAL } from '../src/slack/blocks/deploy-modal.ts';
import { withBoundary } from './boundary.ts';
import type { DeployCommandDeps } from './deploy.ts';
import { deployEntry, deployModalServiceSelected, deployModalSubmitted } from './deploy-modal.ts';
import { type DockhandCommandDeps, dockhandCommand } from './dockhand.ts';
import { type LogsCommandDeps, logsCommand } from './logs.ts';
import { promoteCommand } from './promote.ts';
import { rollbackCommand } from './rollback.ts';
import type { SlackRoutes } from './routes.ts';
import { scaleCommand } from './scale.ts';
import { statusCommand } from './status.ts';

export type { CommandDeps } from './deps.ts';

/** The only place the slash commands' names appear (manifest.yml registers the same seven). */
export const SLASH_COMMANDS = ['/deploy', '/promote', '/rollback', '/scale', '/status', '/logs', '/dockhand'] as const;

export type AllCommandDeps = DeployCommandDeps & LogsCommandDeps & DockhandCommandDeps;

export const registerCommands = (app: SlackRoutes, deps: AllCommandDeps): void => {
  const register = (name: (typeof SLASH_COMMANDS)[number], handler: ReturnType<typeof statusCommand>) =>
    app.command(name, withBoundary(name, deps, handler));
  register('/status', statusCommand(deps));
  register('/dockhand', dockhandCommand(deps));
  // `/deploy` with no text opens the deploy modal; its submission runs the typed command's handler.
  app.command('/deploy', deployEntry(deps));
  app.action(DEPLOY_MODAL.service.action, deployModalServiceSelected(deps));
  app.view(DEPLOY_MODAL.callbackId, deployModalSubmitted(deps));
  register('/promote', promoteCommand(deps));
  register('/rollback', rollbackCommand(deps));
  register('/scale', scaleCommand(deps));
  register('/logs', logsCommand(deps));
};
