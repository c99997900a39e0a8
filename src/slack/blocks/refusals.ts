import type { RefusalView } from '../../core/deploy/view.ts';
import type { DenialReason, ScanGate } from '../../domain/policy.ts';
import type { UnknownScan } from '../../domain/scan.ts';
import { type ClosedGate, describeWindows, formatLocal } from '../../domain/windows.ts';
import { code, escapeText, safe, user } from '../mrkdwn.ts';

/**
 * A user (`<@U…>`) or a user group (`<!subteam^S…>`) named in a refusal; a requester that is no Slack user (a deploy
 * hook's `CI (<build URL>)`) as plain text, not a broken mention.
 */
const mention = (id: string): string => (/^S[A-Z0-9]+$/.test(id) ? `<!subteam^${id}>` : user(id));

/** The text of a deployment refusal that names people or shows what someone typed. */
export const deployRefusalText = (refusal: RefusalView): string => {
  switch (refusal.kind) {
    case 'locked': {
      const { service, environment, deployment } = refusal;
      // The reason is free text typed with /dockhand lock: shown as text, never as a link or a mention, and masked.
      const why = refusal.reason ? `: ${safe(refusal.reason, 500)}` : '';
      const what = deployment
        ? `deployment #${deployment.seq} (${deployment.state.replace('_', ' ')}) requested by ${mention(deployment.requestedBy)}`
        : `${mention(refusal.holder)}`;
      if (refusal.manual) {
        const since = refusal.acquiredAt
          .toISOString()
          .replace(/:\d\d\.\d+Z$/, ' UTC')
          .replace('T', ' ');
        return `\`${service}\` in \`${environment}\` is locked by ${what} since ${since}${why}. Nothing was changed; ask them, or an approver, to run \`/dockhand unlock ${service} in ${environment}\`.`;
      }
      return `\`${service}\` in \`${environment}\` is locked by ${what}${why}. Try again when it is done.`;
    }
  }
};

/** Ids as a list of mentions: `<@U1>, <!subteam^S2>`. */
const mentions = (ids: readonly string[]): string => ids.map(mention).join(', ');

/**
 * Why a change may not go ahead now (src/domain/windows.ts changeGate), and until when, in the gate's time zone. The
 * freeze's reason is what someone typed with /dockhand freeze: shown as text, never as a link or a mention.
 */
export const gateText = (gate: ClosedGate): string => {
  if (gate.cause === 'freeze') {
    const { freeze } = gate;
    const ends = freeze.until ? `until ${formatLocal(freeze.until, gate.timeZone)}` : 'until someone unfreezes it';
    const why = freeze.reason ? ` (${escapeText(freeze.reason)})` : '';
    return `\`${gate.environment}\` is frozen${why} by ${mention(freeze.by)} ${ends}.`;
  }
  const next = gate.opensAt
    ? `The next window opens ${formatLocal(gate.opensAt, gate.timeZone)}.`
    : 'No window opens this week.';
  return `\`${gate.environment}\` is outside its deploy windows (${describeWindows(gate.windows)}). ${next}`;
};

const BREAK_GLASS = code('--emergency <reason>');

/**
 * The words of a rule's no (src/domain/policy.ts), for the person who asked. Service and environment names come
 * from dockhand.yml, not from what someone typed. The unlock denial is the tail of a sentence ("You cannot unlock …:
 * only …"), so it starts in lower case.
 */
export const denialText = (reason: DenialReason): string => {
  switch (reason.kind) {
    case 'not_a_deployer':
      return `You may not deploy \`${reason.service}\`: its deployers are ${mentions(reason.deployers)}.`;
    case 'needs_no_approval':
      return 'This deployment needs no approval.';
    case 'own_request':
      return 'You requested this deployment; someone else must approve it.';
    case 'not_an_approver':
      return `Only approvers can approve this: ${mentions(reason.approvers)}.`;
    case 'may_not_reject':
      return 'Only an approver or the requester can reject this request.';
    case 'may_not_abort':
      return 'Only the requester or an approver can abort this rollout.';
    case 'may_not_unlock': {
      const who = {
        manual: 'the person who locked it',
        requester: 'the requester of that deployment',
        other: 'its holder',
      }[reason.holder];
      return `only ${who} or an approver of \`${reason.environment}\` can unlock it.`;
    }
    case 'may_not_read_logs':
      return `Only the deployers and approvers of \`${reason.service}\` may read its logs.`;
    case 'may_not_freeze':
      return `Only the approvers of \`${reason.environment}\` may freeze or unfreeze it: ${mentions(reason.approvers)}.`;
    case 'hook_deploys_only':
      return 'A hook may only deploy.';
    case 'trigger_not_set':
      return `${reason.service} in ${reason.environment} takes no deploys from ${reason.source} (its trigger is not set)`;
    case 'branch_not_allowed':
      return `${reason.service} in ${reason.environment} deploys only ${reason.branches.join(', ')} from ${reason.source}, not ${reason.branch}`;
    case 'change_closed':
      return reason.refused === 'request'
        ? `${gateText(reason.gate)} Nothing changed. In an emergency, add ${BREAK_GLASS}: it needs one more approval than usual.`
        : `${gateText(reason.gate)} This request did not break the glass, so it cannot be approved now; nothing changed. Approve it once that is over, or ask for it again with ${BREAK_GLASS}.`;
    case 'emergency_not_needed': {
      const why = reason.rollback
        ? `Rollbacks in \`${reason.environment}\` go ahead during a freeze and outside its windows`
        : `\`${reason.environment}\` is neither frozen nor outside its windows`;
      return `${why}: no emergency needed, nothing changed. Ask again without \`--emergency\`.`;
    }
    case 'autoscaled': {
      const { service, environment, suggested } = reason;
      const bounds = code(`/scale ${service} ${suggested.min}..${suggested.max} in ${environment}`);
      return `Application Auto Scaling owns the task count of \`${service}\` in \`${environment}\` (min ${reason.min}, max ${reason.max}, desired ${reason.desired} now): it would undo a count of ${reason.count} within minutes, so nothing was changed. Set its bounds instead, for example ${bounds}.`;
    }
    case 'not_autoscaled':
      return reason.runtime
        ? `\`${reason.service}\` in \`${reason.environment}\` runs on ${reason.runtime}, which has no auto scaling to bound; nothing was changed. Give a task count instead, such as \`/scale ${reason.service} 2 in ${reason.environment}\`.`
        : `\`${reason.service}\` in \`${reason.environment}\` has no auto scaling (no scalable target for its desired count), so there are no bounds to set; nothing was changed. Give a task count instead, such as \`/scale ${reason.service} 2 in ${reason.environment}\`, or register a scalable target in AWS first.`;
    case 'reason_required': {
      const how = `Nothing changed; click *${APPROVE_WITH_REASON}* on the card and say why.`;
      if ('unknown' in reason) {
        return `The image's scan result is unknown (${unknownScanText(reason.unknown)}), and the policy blocks on ${ratedText(reason)} findings: approving it needs a reason. ${how}`;
      }
      const findings = reason.findings === 1 ? '1 finding' : `${reason.findings} findings`;
      return `The image's scan has ${findings} rated ${ratedText(reason)}: approving it needs a reason. ${how}`;
    }
  }
};

/** The severities a scan gate's blockOn weighs. */
export const ratedText = (gate: Pick<ScanGate, 'blockOn'>): string =>
  gate.blockOn === 'critical' ? 'critical' : 'high or critical';

/** Why a scan has no result to weigh. */
export const unknownScanText = (status: UnknownScan): string => {
  switch (status) {
    case 'in_progress':
      return 'the scan is still running';
    case 'failed':
      return 'the scan failed';
    case 'unsupported':
      return 'ECR cannot scan this image';
    case 'not_scanned':
      return 'the image was never scanned';
    case 'unreadable':
      return 'the scan could not be read';
  }
};

/** The label of the Approve button that asks for a reason (an image the scan gate holds). */
export const APPROVE_WITH_REASON = 'Approve with reason…';
