/**
 * The deployment card: a view model (the stored record plus live progress) handed to the Slack layer's renderer,
 * posted once and then updated through the notifier. No Slack text is written here.
 */
import { type DeploymentRecord, isTerminal, type MessageRef } from '../../ports.ts';
import { type DeployContext, liveOf, policyOf, policyView } from './context.ts';
import { markPlatform } from './on-target.ts';
import type { DeploymentView } from './view.ts';

/** How long an approval request waits for Slack to take the card update before it is also posted in the thread. */
const APPROVAL_CARD_WAIT_MS = 3000;

export const postCard = async (
  ctx: DeployContext,
  deployment: DeploymentRecord,
  channel: string,
): Promise<DeploymentRecord> => {
  const { notifier, render, clock, store } = ctx.deps;
  const ref = await notifier.post(channel, render(viewOf(ctx, deployment), clock.now()));
  return store.updateDeployment(deployment.id, { channel: ref.channel, messageTs: ref.ts }, clock.now());
};

/**
 * Shows the Approve buttons: an urgent card update, and when Slack has not taken it within a few seconds (a storm
 * of 429s pauses every chat.update), the same card as a reply in the card's thread, since posts never wait
 * behind card updates. Either message's buttons work; the reply then follows the card (show).
 */
export const askForApproval = async (ctx: DeployContext, deployment: DeploymentRecord): Promise<void> => {
  const { notifier, store, clock, logger, render } = ctx.deps;
  let written = false;
  try {
    const latest = (await store.getDeployment(deployment.id)) ?? deployment;
    if (!latest.channel || !latest.messageTs) return;
    const ref: MessageRef = { channel: latest.channel, ts: latest.messageTs };
    const update = notifier.updateNow(ref, render(viewOf(ctx, latest), clock.now())).then(
      () => {
        written = true;
      },
      (err: unknown) => logger.error({ err, deployment: deployment.id }, 'could not update the deployment card'),
    );
    await Promise.race([update, clock.sleep(APPROVAL_CARD_WAIT_MS)]);
    if (written) return;
    const current = await store.getDeployment(deployment.id);
    if (current?.state !== 'awaiting_approval') return; // decided meanwhile
    const reply = await notifier.post(ref.channel, render(viewOf(ctx, current), clock.now()), ref.ts);
    await store.updateDeployment(deployment.id, { facts: { approvalReplyTs: reply.ts } }, clock.now());
    logger.info(
      { deployment: deployment.id },
      'Slack is slow to update the card: approval request posted in its thread',
    );
  } catch (e) {
    logger.error({ err: e, deployment: deployment.id }, 'could not show the approval request');
  }
};

/**
 * Re-renders the card from the latest stored record plus live progress and hands it to the notifier, without
 * waiting for Slack (DESIGN.md §3.1: the pipeline advances on the store alone; the notifier coalesces and
 * re-sends until Slack accepts). Resolves once the content is queued, so cards are queued in pipeline order.
 * Never throws: a card that cannot be read or rendered is logged and must not stop (or crash) the pipeline.
 */
export const show = async (ctx: DeployContext, deployment: DeploymentRecord, final = false): Promise<void> => {
  const { notifier, logger, store, render, clock } = ctx.deps;
  try {
    const latest = (await store.getDeployment(deployment.id)) ?? deployment;
    if (!latest.channel || !latest.messageTs) return;
    const ref: MessageRef = { channel: latest.channel, ts: latest.messageTs };
    const message = render(viewOf(ctx, latest), clock.now());
    // Final states and approval requests go before other cards' progress (an approver is waiting for buttons).
    const urgent = final || isTerminal(latest.state) || latest.state === 'awaiting_approval';
    const refs = [ref];
    // The approval request posted in the thread (askForApproval) shows the same state, so no stale buttons stay.
    const replyTs = latest.facts.approvalReplyTs;
    if (typeof replyTs === 'string') refs.push({ channel: latest.channel, ts: replyTs });
    for (const r of refs) {
      const written = urgent ? notifier.updateNow(r, message) : notifier.update(r, message);
      written.catch((err: unknown) =>
        logger.error({ err, deployment: deployment.id }, 'could not update the deployment card'),
      );
    }
  } catch (e) {
    logger.error({ err: e, deployment: deployment.id }, 'could not update the deployment card');
  }
};

/** The card's view model: the stored record, live progress, where it runs and who may approve. */
export const viewOf = (ctx: DeployContext, deployment: DeploymentRecord): DeploymentView => {
  const live = liveOf(ctx, deployment.id);
  markPlatform(ctx, deployment, live);
  if (!live.approvalPolicy) {
    const policy = policyOf(ctx, deployment);
    if (policy) live.approvalPolicy = policyView(policy);
  }
  return { ...deployment, ...live };
};
