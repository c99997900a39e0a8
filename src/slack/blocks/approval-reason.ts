import type { types } from '@slack/bolt';
import type { ScanGate } from '../../domain/policy.ts';
import type { ScanFindings } from '../../domain/scan.ts';
import { maskSecrets } from '../../logger.ts';
import type { DeploymentRecord } from '../../ports.ts';
import { unknownScanText } from './refusals.ts';

/**
 * The reason dialog (issue 13, item 6): what *Approve with reason…* opens on the card of an image whose scan reached
 * the approval policy's blockOn. Its submission is the approval; the reason goes to the audit trail. Ids are stable:
 * the submission reads the reason by them, and errors are shown on the reason field.
 */
export const APPROVAL_REASON_MODAL = {
  callbackId: 'approval.reason',
  reason: { block: 'approval_reason', action: 'approval.reason.text' },
} as const;

/** The longest reason the dialog takes (core/deploy/approvals.ts MAX_REASON keeps as much). */
export const REASON_MAX_LENGTH = 1000;

/** What the dialog carries to its submission: the deployment, and the card's channel for private replies. */
export interface ApprovalReasonMetadata {
  deployment: string;
  channel: string;
}

export const approvalReasonMetadata = (raw: string | undefined): ApprovalReasonMetadata | undefined => {
  try {
    const value: unknown = JSON.parse(raw ?? '');
    if (
      value &&
      typeof value === 'object' &&
      'deployment' in value &&
      typeof value.deployment === 'string' &&
      'channel' in value &&
      typeof value.channel === 'string'
    )
      return { deployment: value.deployment, channel: value.channel };
  } catch {
    // not ours
  }
  return undefined;
};

const plain = (text: string, max = 75): types.PlainTextElement => ({
  type: 'plain_text',
  text: text.length > max ? `${text.slice(0, max - 1)}…` : text,
});

const countsText = (scan: ScanFindings | undefined): string => {
  if (scan?.status !== 'complete') return '';
  const c = scan.counts;
  return ` (${c.critical ?? 0} critical, ${c.high ?? 0} high, ${c.medium ?? 0} medium)`;
};

/**
 * The dialog for one deployment. Plain text only: names come from dockhand.yml, numbers from the scan; nothing a
 * user typed is shown.
 */
export const approvalReasonModal = (
  deployment: Pick<DeploymentRecord, 'id' | 'seq' | 'kind' | 'service' | 'environment' | 'facts'>,
  gate: ScanGate | undefined,
  channel: string,
): types.ModalView => {
  const rated = gate?.blockOn === 'high' ? 'high or critical' : 'critical';
  const image = deployment.facts.imageTag ?? deployment.facts.image ?? 'this image';
  const subject = `The scan of ${image} for ${deployment.service} in ${deployment.environment}`;
  const said =
    gate && 'unknown' in gate
      ? `${subject} has no result (${unknownScanText(gate.unknown)}), and this approval blocks on ${rated} findings.`
      : `${subject} has ${gate ? `${gate.findings} finding${gate.findings === 1 ? '' : 's'} rated ${rated}` : 'findings'}${countsText(deployment.facts.scan)}.`;
  const metadata: ApprovalReasonMetadata = { deployment: deployment.id, channel };
  return {
    type: 'modal',
    callback_id: APPROVAL_REASON_MODAL.callbackId,
    title: plain(`Approve #${deployment.seq}`, 24),
    submit: plain('Approve', 24),
    close: plain('Cancel', 24),
    private_metadata: JSON.stringify(metadata),
    blocks: [
      {
        type: 'section',
        text: plain(maskSecrets(`${said} Approving it needs a reason, which the audit trail keeps.`), 3000),
      },
      {
        type: 'input',
        block_id: APPROVAL_REASON_MODAL.reason.block,
        label: plain('Why is it safe to deploy?'),
        hint: plain('E.g. the vulnerable package is not reachable, or the fix is on its way (ticket).', 150),
        element: {
          type: 'plain_text_input',
          action_id: APPROVAL_REASON_MODAL.reason.action,
          multiline: true,
          min_length: 10,
          max_length: REASON_MAX_LENGTH,
        },
      },
    ],
  };
};
