import { ACTIONS } from '../../src/slack/actions.ts';
import type { Button } from './button.ts';

/** Approve: counts the clicker's approval (an approver, not the requester unless the policy allows it). */
export const approveButton: Button = {
  actionId: ACTIONS.approve,
  click: (deps, id, user) => deps.deployments.approve(id, user),
};
