import { ACTIONS } from '../../src/slack/actions.ts';
import type { Button } from './button.ts';

/** Rollback (on a finished deployment's card): requests a rollback to what ran before it, as `/rollback` would. */
export const rollbackButton: Button = {
  actionId: ACTIONS.rollback,
  click: async (deps, id, user) => {
    await deps.deployments.rollbackOf(id, user);
  },
};
