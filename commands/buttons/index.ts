import type { BlockAction, ButtonAction, RespondFn } from '@slack/bolt';
import { atBoundary } from '../boundary.ts';
import type { CommandDeps } from '../deps.ts';
import type { SlackRoutes } from '../routes.ts';
import { abortButton } from './abort.ts';
import { approveButton } from './approve.ts';
import { registerApproveWithReason } from './approve-with-reason.ts';
import type { Button, ButtonDeps } from './button.ts';
import { cancelButton, rejectButton } from './reject.ts';
import { rollbackButton } from './rollback.ts';

export type { Button, ButtonDeps } from './button.ts';

/** Every button dockhand puts on a card (src/slack/actions.ts names their ids). */
export const BUTTONS: readonly Button[] = [approveButton, rejectButton, cancelButton, abortButton, rollbackButton];

/** What a click handler reads of Bolt's arguments for a button action. */
export interface ClickArgs {
  ack: () => Promise<void>;
  body: { user: { id: string } };
  action: { value?: string | undefined };
  respond: RespondFn;
}

/** One click behind the boundary: acknowledged first, then the button's work; a refusal goes to the clicker alone. */
export const clickHandler =
  <D extends CommandDeps>(deps: D, button: Button<D>) =>
  ({ ack, body, action, respond }: ClickArgs): Promise<void> =>
    atBoundary(
      deps,
      {
        kind: 'click',
        name: button.actionId,
        user: body.user.id,
        context: { action: button.actionId, user: body.user.id, deployment: action.value },
        audit: { action: `click.${button.actionId}`, subject: action.value },
      },
      { ack: () => ack(), respond },
      () => button.click(deps, action.value ?? '', body.user.id),
    );

/** Registers the card buttons on the Bolt app. */
export const registerButtons = (app: SlackRoutes, deps: ButtonDeps): void => {
  for (const button of BUTTONS) app.action<BlockAction<ButtonAction>>(button.actionId, clickHandler(deps, button));
  // Approve with a reason opens a dialog (needs the click's trigger_id), so it is no plain Button.
  registerApproveWithReason(app, deps);
};
