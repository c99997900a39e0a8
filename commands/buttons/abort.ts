import { ACTIONS } from '../../src/slack/actions.ts';
import type { Button } from './button.ts';

/** Abort: stops a rollout in progress and restores the revision it replaced (the requester or an approver). */
export const abortButton: Button = {
  actionId: ACTIONS.abort,
  click: (deps, id, user) => deps.deployments.abort(id, user),
};
