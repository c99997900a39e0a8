import type {
  AllMiddlewareArgs,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
  SlackViewMiddlewareArgs,
  ViewSubmitAction,
} from '@slack/bolt';
import { checkApprovalWindow } from '../../src/core/operate/freeze.ts';
import { approvalPolicyFor, Refusal } from '../../src/domain/policy.ts';
import { ACTIONS } from '../../src/slack/actions.ts';
import {
  APPROVAL_REASON_MODAL,
  approvalReasonMetadata,
  approvalReasonModal,
} from '../../src/slack/blocks/approval-reason.ts';
import { atBoundary } from '../boundary.ts';
import { modalSubmission } from '../modal-submission.ts';
import type { SlackRoutes } from '../routes.ts';
import type { ButtonDeps } from './button.ts';

/**
 * *Approve with reason…* (issue 13, item 6): on the card of an image whose scan reached the policy's blockOn, Approve
 * opens a dialog asking why it is safe; the dialog's submission is the approval, with its reason, through the same
 * rules as a plain Approve (approver, self-approval, freezes, quorum). A dialog fits Slack best: the reason is typed
 * where the decision is made, Slack enforces its length, and a refusal is shown on the field while the dialog stays
 * open. A plain Approve click on such a card (an older one) is refused with how to approve with a reason.
 */

/** The click: opens the dialog (views.open with the click's trigger_id) for a request still waiting for approval. */
export const approveWithReasonClicked =
  (deps: ButtonDeps) =>
  ({
    ack,
    body,
    action,
    respond,
    client,
  }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs): Promise<void> => {
    const id = action.value ?? '';
    const user = body.user.id;
    return atBoundary(
      deps,
      {
        kind: 'click',
        name: ACTIONS.approveWithReason,
        user,
        context: { action: ACTIONS.approveWithReason, user, deployment: id },
        audit: { action: `click.${ACTIONS.approveWithReason}`, subject: id },
      },
      { ack: () => ack(), respond },
      async () => {
        const deployment = await deps.store.getDeployment(id);
        if (!deployment) throw new Refusal('This deployment is unknown to dockhand.');
        if (deployment.state !== 'awaiting_approval')
          throw new Refusal(`This request is already ${deployment.state.replace('_', ' ')}; nothing changed.`);
        const gate = approvalPolicyFor(deps.config, deployment)?.scanGate;
        const channel = body.channel?.id ?? body.container?.channel_id ?? deployment.channel ?? '';
        await client.views.open({ trigger_id: body.trigger_id, view: approvalReasonModal(deployment, gate, channel) });
      },
    );
  };

/**
 * The submission: approves with the typed reason. A refusal (not an approver, the requester, a freeze, already
 * decided) is shown on the reason field and the dialog stays open; a success closes it and the card follows.
 */
export const approvalReasonSubmitted =
  (deps: ButtonDeps) =>
  async ({ ack, body, view, client }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const user = body.user.id;
    const metadata = approvalReasonMetadata(view.private_metadata);
    const id = metadata?.deployment ?? '';
    const { block, action } = APPROVAL_REASON_MODAL.reason;
    const reason = view.state.values[block]?.[action]?.value ?? '';
    const submission = modalSubmission({ ack, client, user, channel: metadata?.channel });
    await atBoundary(
      deps,
      {
        kind: 'command',
        name: APPROVAL_REASON_MODAL.callbackId,
        user,
        context: { view: APPROVAL_REASON_MODAL.callbackId, user, deployment: id },
        audit: { action: `submit.${APPROVAL_REASON_MODAL.callbackId}`, subject: id },
      },
      { ack: () => submission.answer(), respond: submission.respond },
      (trackedAck) =>
        submission.run(
          trackedAck,
          async () => {
            const deployment = await deps.store.getDeployment(id);
            if (deployment) await checkApprovalWindow(deps, deployment);
            await deps.deployments.approve(id, user, reason);
          },
          () => block,
        ),
    );
  };

/** Registers the button and its dialog on the Bolt app. */
export const registerApproveWithReason = (app: SlackRoutes, deps: ButtonDeps): void => {
  app.action<BlockAction<ButtonAction>>(ACTIONS.approveWithReason, approveWithReasonClicked(deps));
  app.view(APPROVAL_REASON_MODAL.callbackId, approvalReasonSubmitted(deps));
};
