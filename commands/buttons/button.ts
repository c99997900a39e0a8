import type { DeploymentService } from '../../src/core/deploy/service.ts';
import type { ActionId } from '../../src/slack/actions.ts';
import type { CommandDeps } from '../deps.ts';

export interface ButtonDeps extends CommandDeps {
  deployments: DeploymentService;
}

/**
 * A button on a deployment's card: its action id and what a click does to the deployment named by the button's
 * value. A click that a rule or the deployment's state does not allow throws a `Refusal` (src/domain/policy.ts);
 * the boundary shows it to the clicker alone.
 */
export interface Button<D extends CommandDeps = ButtonDeps> {
  actionId: ActionId;
  click(deps: D, deploymentId: string, user: string): Promise<void>;
}
