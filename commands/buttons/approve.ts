import { checkApprovalWindow } from '../../src/core/operate/freeze.ts';
import { ACTIONS } from '../../src/slack/actions.ts';
import type { Button } from './button.ts';

/** Approve: counts the clicker's approval (an approver, not the requester unless the policy allows it). */
export const approveButton: Button = {
  actionId: ACTIONS.approve,
  click: async (deps, id, user) => {
    // A freeze or a closed window stops an approval of a request that did not break the glass.
    const deployment = await deps.store.getDeployment(id);
    if (deployment) await checkApprovalWindow(deps, deployment);
    await deps.deployments.approve(id, user);
  },
};
