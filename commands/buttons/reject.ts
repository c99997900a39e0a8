import { ACTIONS } from '../../src/slack/actions.ts';
import type { Button } from './button.ts';

/** Reject: an approver rejects a waiting request; its requester withdraws it. */
export const rejectButton: Button = {
  actionId: ACTIONS.reject,
  click: (deps, id, user) => deps.deployments.reject(id, user),
};

/** Cancel (on the requester's waiting card): the same as Reject, which withdraws the requester's own request. */
export const cancelButton: Button = {
  actionId: ACTIONS.cancel,
  click: (deps, id, user) => deps.deployments.reject(id, user),
};
