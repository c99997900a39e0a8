import { checkRollbackWindow } from '../../src/core/operate/freeze.ts';
import { ACTIONS } from '../../src/slack/actions.ts';
import type { Button } from './button.ts';

/** Rollback (on a finished deployment's card): requests a rollback to what ran before it, as `/rollback` would. */
export const rollbackButton: Button = {
  actionId: ACTIONS.rollback,
  click: async (deps, id, user) => {
    await checkRollbackWindow(deps, await deps.store.getDeployment(id));
    await deps.deployments.rollbackOf(id, user);
  },
};
