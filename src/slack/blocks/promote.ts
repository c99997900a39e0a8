/**
 * The words of a promote on the deployment card (src/slack/blocks/deploy.ts asks these for a `promote` request):
 * which digest, from where, the commit it was built from, and the copy to the target's registry.
 */
import type { DeploymentView } from '../../core/deploy/view.ts';
import type { Promote } from '../../domain/deployment.ts';
import { bar, code, escapeText, safe, truncate } from '../mrkdwn.ts';

/** The request of a promote card, when it is one. */
export const promotionOf = (v: Pick<DeploymentView, 'request'>): Promote | undefined =>
  v.request.type === 'promote' ? v.request : undefined;

/** "sha256:0123456789ab": as much of a digest as a card shows. */
const shortDigest = (digest: string): string => truncate(digest, 19);

/** 1.5 MB, 820 kB, 12 B. */
export const formatBytes = (bytes: number): string => {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 'B';
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${unit}`;
};

/** Header: "Promote api staging → production". */
export const promoteTitle = (v: DeploymentView, p: Promote): string =>
  `Promote ${v.service} ${p.from} → ${v.environment}`;

/** What is promoted, in mrkdwn: "`sha256:0123456789ab` from *staging*, built from `3f2a1bc` _Fix login_". */
export const promoteWhat = (v: DeploymentView, p: Promote, subject: (text: string) => string): string => {
  const sha = v.facts.commitSha;
  const commit = sha
    ? `, built from ${code(sha.slice(0, 7))}${v.facts.commitSubject ? ` _${subject(v.facts.commitSubject)}_` : ''}${
        v.facts.commitFrom === 'label' ? ' (the image’s label)' : ''
      }`
    : '';
  return `${code(shortDigest(p.digest))} from *${escapeText(p.from)}*${commit}`;
};

/** The slash command that asks for the same promote again. */
export const promoteCommandFor = (v: Pick<DeploymentView, 'service' | 'environment'>, p: Promote): string =>
  `/promote ${v.service} from ${p.from} to ${v.environment}`;

/** The Approve dialog's question, in plain text. */
export const promoteQuestion = (v: DeploymentView, p: Promote): string =>
  `Promote ${shortDigest(p.digest)}${v.facts.commitSha ? ` (${v.facts.commitSha.slice(0, 7)})` : ''} from ${p.from} to ${v.service} in ${v.environment}?`;

/** The plan's fields of a promote: where the image comes from and where the copy will go. */
export const promotePlanFields = (v: DeploymentView, p: Promote): string[] => {
  const fields = [`*Promoting from ${escapeText(p.from)}*\n${code(v.facts.sourceImage ?? p.digest)}`];
  const sha = v.facts.commitSha;
  if (sha)
    fields.push(`*Built from*\n${code(sha.slice(0, 7))}${v.facts.commitFrom === 'label' ? ' (image label)' : ''}`);
  if (v.facts.sourceImage && v.facts.image && v.facts.sourceImage !== v.facts.image)
    fields.push(`*Copy*\nby digest to ${code(v.facts.image.split('@')[0] ?? v.facts.image)} before the rollout`);
  return fields;
};

const METHOD: Record<NonNullable<DeploymentView['facts']['copyMethod']>, string> = {
  present: 'already there, nothing copied',
  mount: 'mounted across repositories, no bytes moved',
  copy: 'pulled and pushed',
};

/** The finished copy as a card field: "*Copy*\npulled and pushed, 12.3 MB, digest verified". */
export const copyField = (v: DeploymentView): string | undefined => {
  const method = v.facts.copyMethod;
  if (method === undefined) return undefined;
  const bytes = method === 'copy' ? `, ${formatBytes(v.facts.copyBytes ?? 0)}` : '';
  return `*Copy*\n${METHOD[method]}${bytes}, digest verified`;
};

/** The `pushing` state of a promote: the image is copied to the target's registry. */
export const copyingStatus = (
  v: DeploymentView,
): { status: string; summary: string; body: { type: 'section'; text: { type: 'mrkdwn'; text: string } }[] } => {
  const copied = v.copy?.copied ?? 0;
  const total = v.copy?.total ?? 0;
  const percent = total > 0 ? Math.max(0, Math.min(100, Math.round((copied / total) * 100))) : 0;
  const to = v.facts.image?.split('@')[0];
  return {
    status: `:package: *Copying* ${code(shortDigest(promotionOf(v)?.digest ?? v.facts.digest ?? ''))}${
      to ? ` to ${code(to)}` : ''
    }`,
    summary: `copying, ${percent}%`,
    body: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: safe(`\`${bar(percent, 100)}\` ${formatBytes(copied)} of ${total > 0 ? formatBytes(total) : '…'}`),
        },
      },
    ],
  };
};
