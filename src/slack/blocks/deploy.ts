/**
 * The deployment card: one message per operation (deploy, restart, rollback, scale), re-rendered from the record
 * plus whatever live data the pipeline has (plan, build step, push %, rollout progress, failure), and updated in
 * place by the notifier. Pure: the same view renders the same card, so the notifier can skip unchanged content.
 *
 * Layout, every state: header ("Deploy api → production #42"), a status line, the state's own sections, the
 * buttons (or who decided, once someone did), and a context line with the requester and the deployment id.
 * Everything from outside (commit subjects, build output, logs, AWS events) is masked, escaped and cut here.
 */
import type { DeploymentView as CoreDeploymentView, DeploymentLive } from '../../core/deploy/view.ts';
import { formatDuration } from '../../core/duration.ts';
import type { ScanFindings } from '../../domain/scan.ts';
import { maskSecrets } from '../../logger.ts';
import type {
  CommitSummary,
  DeploymentRecord,
  DeploymentRequest,
  DeploymentState,
  RolloutProgress,
  StoppedTaskGroup,
} from '../../ports.ts';
import { ACTIONS } from '../actions.ts';
import { bar, code, date, escapeText, LIMITS, lines, safe, truncate, user } from '../mrkdwn.ts';
import { alarmFailureBlocks, alarmsBlocks } from './alarms.ts';
import { stagedAbortBlocks, stagedBlocks, stagedSummary, timeoutExtendedText } from './blue-green.ts';
import {
  copyField,
  copyingStatus,
  promoteCommandFor,
  promotePlanFields,
  promoteQuestion,
  promoteTitle,
  promoteWhat,
  promotionOf,
} from './promote.ts';
import { APPROVE_WITH_REASON, ratedText, unknownScanText } from './refusals.ts';
import { targetHealthText, targetHealthUnreadableText, waitingForTargetsText } from './target-health.ts';
import type { Card, KnownBlock } from './types.ts';

// -----------------------------------------------------------------------------------------------------------------
// The view: the core's view model (src/core/deploy/view.ts), plus the buttons a caller may force on or off.

export type PlanView = NonNullable<DeploymentLive['plan']>;
export type BuildView = NonNullable<DeploymentLive['build']>;
export type FailureView = NonNullable<DeploymentLive['failure']>;
export type ApprovalPolicyView = NonNullable<DeploymentLive['approvalPolicy']>;

/**
 * A deployment record plus live data. Facts the card reads when present: commitSha, commitSubject, image, digest,
 * revision ("api:43"), previousRevision ("api:42"), ecsDeploymentId, durationMs, publicIps, runningCount, and
 * who ended it: rejectedBy, cancelledBy, abortedBy (the transition's actor).
 */
export type DeploymentView = CoreDeploymentView & {
  /** Offer Rollback. Default: when it failed after a new revision replaced a known previous one. */
  canRollback?: boolean | undefined;
  /** Offer Cancel before the rollout starts. Default: no. */
  canCancel?: boolean | undefined;
};

// -----------------------------------------------------------------------------------------------------------------
// Small helpers

/** What the request names, where its kind has such a field. */
const imageTagOf = (r: DeploymentRequest): string | undefined => (r.type === 'image' ? r.imageTag : undefined);
const refOf = (r: DeploymentRequest): string | undefined => (r.type === 'git' ? r.ref : undefined);
const countOf = (r: DeploymentRequest): string | undefined =>
  r.type === 'scale' ? r.desiredCount.toString() : r.type === 'scaleBounds' ? `${r.min}..${r.max}` : undefined;
const revisionOf = (r: DeploymentRequest): string | undefined => (r.type === 'rollback' ? r.revision : undefined);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const section = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) },
});
const fieldsSection = (fields: readonly string[]): KnownBlock => ({
  type: 'section',
  fields: fields.slice(0, LIMITS.fields).map((text) => ({ type: 'mrkdwn', text: truncate(text, LIMITS.field) })),
});
const context = (...texts: string[]): KnownBlock => ({
  type: 'context',
  elements: texts.slice(0, LIMITS.contextElements).map((text) => ({ type: 'mrkdwn', text: truncate(text, 2000) })),
});

/** A user (U…), or a user group (S…) as a group mention. */
const principal = (id: string): string =>
  id === '*' ? 'anyone but the requester' : /^S[A-Z0-9]+$/.test(id) ? `<!subteam^${id}>` : user(id);

/** Break-glass (`--emergency <reason>`): marked on every state of the card. */
const emergencyNote = (v: DeploymentView): KnownBlock[] => {
  const reason = v.request.emergency;
  return reason === undefined ? [] : [context(`:rotating_light: *Emergency* (break-glass): ${escapeText(reason)}`)];
};

const shortSha = (sha: string): string => sha.slice(0, 7);

/** Strips terminal colour codes and control characters that build tools print. */
const plain = (text: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
  text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');

/** Outside text (commit subjects, AWS events, reasons) as mrkdwn: masked, escaped, cut, no code fences. */
const outside = (text: string, limit: number): string => safe(plain(text), limit).replace(/`/g, "'");

/** Outside text (a Dockerfile instruction, a task-definition value) as inline code: masked, cleaned, cut. */
const outsideCode = (text: string, limit = 200): string => code(truncate(maskSecrets(plain(text)), limit));

/**
 * Output or log lines as a ``` block: masked, escaped, backticks neutralised, each line cut, and only the newest
 * lines kept so that `title` + block fit in one section.
 */
export const codeBlock = (raw: readonly string[], title: string, limit: number = LIMITS.sectionText): string => {
  const prepared = raw.map((line) => truncate(escapeText(maskSecrets(plain(line))).replace(/`/g, "'"), 300));
  const budget = limit - title.length - '\n```\n\n```'.length - 40;
  const kept: string[] = [];
  let length = 0;
  for (let i = prepared.length - 1; i >= 0; i--) {
    const line = prepared[i] ?? '';
    if (length + line.length + 1 > budget) break;
    kept.unshift(line);
    length += line.length + 1;
  }
  const dropped = prepared.length - kept.length;
  if (dropped > 0) kept.unshift(`… ${plural(dropped, 'earlier line')}`);
  return `${title}\n\`\`\`\n${kept.join('\n')}\n\`\`\``;
};

type ButtonStyle = 'primary' | 'danger';

const button = (
  text: string,
  actionId: string,
  value: string,
  style: ButtonStyle | undefined,
  confirm: { title: string; text: string; confirm: string },
) => ({
  type: 'button' as const,
  // Plain text is not parsed (no mentions to escape) but is shown: a ref someone typed is masked here too.
  text: { type: 'plain_text' as const, text: truncate(maskSecrets(text), LIMITS.buttonText), emoji: true },
  action_id: actionId,
  value,
  ...(style ? { style } : {}),
  confirm: {
    title: { type: 'plain_text' as const, text: truncate(confirm.title, 100) },
    text: { type: 'plain_text' as const, text: truncate(maskSecrets(confirm.text), 300) },
    confirm: { type: 'plain_text' as const, text: truncate(confirm.confirm, 30) },
    deny: { type: 'plain_text' as const, text: 'Go back' },
    ...(style === 'danger' ? { style: 'danger' as const } : {}),
  },
});

// -----------------------------------------------------------------------------------------------------------------
// What the operation is

const targetRevision = (v: DeploymentView): string | undefined => {
  const revision = v.facts.revision;
  if (revision) return revision;
  const requested = revisionOf(v.request);
  if (!requested) return undefined;
  // A rollback stores "family:revision"; a bare number is a revision of the service's family.
  return requested.includes(':') ? requested : `${v.service}:${requested}`;
};

/** "Deploy api → production", "Scale api → production to 4". */
const operationTitle = (v: DeploymentView): string => {
  const where = `${v.service} → ${v.environment}`;
  switch (v.kind) {
    case 'deploy': {
      const promotion = promotionOf(v);
      return promotion ? promoteTitle(v, promotion) : `Deploy ${where}`;
    }
    case 'restart':
      return `Restart ${where}`;
    case 'rollback':
      return `Rollback ${where}`;
    case 'scale': {
      const count = countOf(v.request);
      return count === undefined ? `Scale ${where}` : `Scale ${where} to ${count}`;
    }
  }
};

/** The header line. */
const title = (v: DeploymentView): string => `${operationTitle(v)} #${v.seq}`;

/** What a service runs as: containers on a Docker host, tasks on ECS. */
const unit = (v: DeploymentView): 'container' | 'task' => (v.platform === 'docker' ? 'container' : 'task');

/** What was asked, in mrkdwn: "`main` → `3f2a1bc` Fix login", "image `1.4.2`", "revision `api:41`", "4 tasks". */
const what = (v: DeploymentView): string => {
  switch (v.kind) {
    case 'deploy': {
      const promotion = promotionOf(v);
      if (promotion) return promoteWhat(v, promotion, (s) => outside(s, 200));
      const tag = imageTagOf(v.request);
      if (tag) {
        const digest = v.facts.digest;
        // A digest given as the image (a CI trigger's) is not repeated as the tag's digest.
        return `image ${code(tag)}${digest && digest !== tag ? ` (${code(truncate(digest, 19))})` : ''}`;
      }
      const ref = refOf(v.request);
      const sha = v.facts.commitSha;
      const subject = v.facts.commitSubject;
      const parts = [ref ? code(ref) : 'the default ref'];
      if (sha && sha !== ref) parts.push(`→ ${code(shortSha(sha))}`);
      if (subject) parts.push(`_${outside(subject, 200)}_`);
      return parts.join(' ');
    }
    case 'restart':
      return v.platform === 'docker'
        ? 'a fresh start of the running containers'
        : 'a fresh start of the running task definition';
    case 'rollback': {
      const revision = targetRevision(v);
      return revision ? `revision ${code(revision)}` : 'the previous revision';
    }
    case 'scale': {
      const r = v.request;
      if (r.type === 'scaleBounds')
        return `${code(`${r.min}..${r.max}`)} ${unit(v)}s under auto scaling (were ${code(`${r.from.min}..${r.from.max}`)})`;
      return r.type === 'scale' ? plural(r.desiredCount, unit(v)) : `a new ${unit(v)} count`;
    }
  }
};

/** The slash command that asks for the same thing again. */
export const commandFor = (v: DeploymentRecord): string => {
  // Break-glass is part of what was asked: asking again without it would be refused during the same freeze.
  const reason = v.request.emergency?.replace(/\s+/g, ' ').trim();
  return `${baseCommandFor(v)}${reason ? ` --emergency ${plain(reason)}` : ''}`;
};

const baseCommandFor = (v: DeploymentRecord): string => {
  switch (v.kind) {
    case 'deploy':
    case 'restart': {
      const promotion = promotionOf(v);
      if (promotion) return promoteCommandFor(v, promotion);
      const tag = imageTagOf(v.request);
      const ref = refOf(v.request);
      const source = tag ? ` image:${tag}` : ref ? ` ${ref}` : '';
      return `/deploy ${v.service}${source} to ${v.environment}${v.kind === 'restart' ? ' --restart' : ''}`;
    }
    case 'rollback': {
      // The command takes the revision number only ("api:41" → 41).
      const revision = revisionOf(v.request)?.split(':').at(-1);
      return `/rollback ${v.service} to ${v.environment}${revision ? ` ${revision}` : ''}`;
    }
    case 'scale':
      return `/scale ${v.service} ${countOf(v.request) ?? '<count>'} in ${v.environment}`;
  }
};

const VERB: Record<DeploymentRecord['kind'], string> = {
  deploy: 'deploy',
  restart: 'restart',
  rollback: 'roll back to',
  scale: 'scale to',
};

// -----------------------------------------------------------------------------------------------------------------
// Sections

/** "1 of 2" (or "1 approval" when the policy is not known), and who gave them. */
const approvalCount = (v: DeploymentView): { count: string; who: string } => {
  const required = v.approvalPolicy?.required;
  const count =
    required === undefined ? plural(v.approvals.length, 'approval') : `${v.approvals.length} of ${required}`;
  return { count, who: v.approvals.map((a) => user(a.user)).join(', ') };
};

/** What runs now and what would run: the plan, as fields (and the image's scan, where the registry scans). */
const planFields = (v: DeploymentView, extra: readonly string[]): string[] => {
  const fields: string[] = [];
  const plan = v.plan;
  if (plan) {
    fields.push(`*Running now*\n${code(plan.currentRevision)} ${code(plan.currentImage)}`);
    const next = plan.newImage ?? v.facts.image;
    if (next) fields.push(`*Will run*\n${code(next)}`);
    if (plan.health) fields.push(`*Health now*\n${outside(plan.health, 300)}`);
  } else {
    const image = v.facts.image;
    if (image) fields.push(`*Image*\n${code(image)}`);
  }
  const scan = scanField(v.facts.scan);
  if (scan) fields.push(scan);
  return [...fields, ...extra];
};

/**
 * The image scan (ECR): "2 critical · 3 high · 5 medium", the less severe compactly ("+ 4 low/info"), or what kept
 * the counts away. ECR's descriptions are outside text.
 */
export const scanField = (scan: ScanFindings | undefined): string | undefined => {
  if (!scan) return undefined;
  const heading = '*Image scan*';
  switch (scan.status) {
    case 'complete': {
      const c = scan.counts;
      const main = (['critical', 'high', 'medium'] as const).map((s) => `${c[s] ?? 0} ${s}`).join(' · ');
      const rest = (c.low ?? 0) + (c.informational ?? 0) + (c.undefined ?? 0);
      const icon =
        (c.critical ?? 0) > 0 ? ':red_circle:' : (c.high ?? 0) > 0 ? ':large_orange_circle:' : ':white_check_mark:';
      return `${heading}\n${icon} ${main}${rest > 0 ? ` · ${rest} low/other` : ''}`;
    }
    case 'in_progress':
      return `${heading}\n:hourglass_flowing_sand: scan still running`;
    case 'failed':
      return `${heading}\n:warning: the scan failed${scan.detail ? `: ${outside(scan.detail, 200)}` : ''}`;
    case 'unsupported':
      return `${heading}\n:white_circle: ECR cannot scan this image${scan.detail ? ` (${outside(scan.detail, 200)})` : ''}`;
    case 'not_scanned':
      return `${heading}\n:white_circle: not scanned (is scan on push on for the repository?)`;
    case 'unreadable':
      return `${heading}\n:warning: could not read the scan (${outside(scan.detail, 100)})`;
  }
};

/** Why an approval needs one more approver and a reason: the scan reached the policy's blockOn, or has no result. */
const scanGateNote = (v: DeploymentView): KnownBlock[] => {
  const gate = v.approvalPolicy?.scanGate;
  if (!gate) return [];
  const why =
    'unknown' in gate
      ? `Image scan result unknown (${unknownScanText(gate.unknown)}), and this approval blocks on ${ratedText(gate)} findings`
      : `The image scan found ${plural(gate.findings, 'finding')} rated ${ratedText(gate)}`;
  return [context(`:warning: ${why}: one more approval than usual, and each approver gives a reason.`)];
};

const commitsSection = (commits: { commits: CommitSummary[]; total: number } | undefined): KnownBlock | undefined => {
  if (!commits || commits.commits.length === 0) return undefined;
  const shown = commits.commits.length;
  const heading =
    commits.total > shown ? `*Commits* (${shown} newest of ${commits.total})` : `*Commits* (${commits.total})`;
  const items = commits.commits.map(
    (c) => `${code(shortSha(c.sha))} ${outside(c.subject, 200)} — ${outside(c.author, 80)}`,
  );
  return section(`${heading}\n${lines(items, LIMITS.sectionText - heading.length - 1)}`);
};

const changesSection = (v: DeploymentView): KnownBlock | undefined => {
  const changes = v.plan?.changes;
  if (!changes || changes.length === 0) return undefined;
  const heading = v.platform === 'docker' ? '*Container changes*' : '*Task definition changes*';
  const value = (s: string | undefined) => (s === undefined ? '_(none)_' : outsideCode(s, 300));
  const items = changes.map((c) => `${code(c.field)}: ${value(c.from)} → ${value(c.to)}`);
  return section(`${heading}\n${lines(items, LIMITS.sectionText - heading.length - 1)}`);
};

const planBlocks = (v: DeploymentView, extra: readonly string[]): KnownBlock[] => {
  const promotion = promotionOf(v);
  const fields = planFields(v, promotion ? [...promotePlanFields(v, promotion), ...extra] : extra);
  return [
    ...(fields.length > 0 ? [fieldsSection(fields)] : []),
    commitsSection(v.plan?.commits),
    changesSection(v),
    ...alarmsBlocks(v.plan?.alarms),
  ].filter((b): b is KnownBlock => b !== undefined);
};

/** Copilot-style: one row per ECS deployment, as a monospace table. */
const deploymentsTable = (rollout: RolloutProgress): string | undefined => {
  if (rollout.deployments.length === 0) return undefined;
  const ours = rollout.deployment?.id;
  const rows: string[][] = [['', '', 'Revision', 'Rollout', 'Desired', 'Running', 'Pending', 'Failed']];
  for (const d of rollout.deployments.slice(0, 10)) {
    rows.push([
      d.id === ours ? '▶' : '',
      d.status,
      truncate(d.revision, 40),
      d.rolloutState ? `[${d.rolloutState.toLowerCase().replace('_', ' ')}]` : '',
      String(d.desired),
      String(d.running),
      String(d.pending),
      String(d.failed),
    ]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const numeric = (i: number) => i >= 4;
  const render = (r: string[]) =>
    r
      .map((cell, i) => (numeric(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return codeBlock(rows.map(render), '*Deployments*');
};

const dedupe = (items: readonly string[]): string[] => [...new Set(items.map((s) => s.trim()))].filter(Boolean);

const failureEventsSection = (events: readonly string[]): KnownBlock | undefined => {
  const newest = dedupe(events).slice(0, 5);
  if (newest.length === 0) return undefined;
  return section(`*Latest failure events*\n${lines(newest.map((e) => `• ${outside(e, 500)}`))}`);
};

const stoppedLine = (g: StoppedTaskGroup): string => {
  const exits = [...new Set(g.exitCodes)];
  const exit = exits.length > 0 ? ` (exit ${exits.join(', ')})` : '';
  const verb = g.count === 1 ? 'task stopped' : 'tasks stopped';
  return `• ${g.count} ${verb}: ${outside(g.reason, 400)}${exit} — e.g. task ${code(g.exampleTaskId.slice(0, 12))}`;
};

const stoppedSection = (groups: readonly StoppedTaskGroup[]): KnownBlock | undefined => {
  if (groups.length === 0) return undefined;
  const sorted = [...groups].sort((a, b) => b.count - a.count);
  return section(`*Stopped tasks*\n${lines(sorted.map(stoppedLine))}`);
};

/** Behind a load balancer: what the rollout waits for, once ECS completed it, and every target group's targets. */
const targetHealthBlocks = (rollout: RolloutProgress): KnownBlock[] => {
  if (rollout.targetHealthUnreadable) return [context(targetHealthUnreadableText(rollout.targetHealthUnreadable))];
  if (!rollout.targetHealth || rollout.targetHealth.length === 0) return [];
  const waiting =
    rollout.outcome === 'in_progress' && rollout.deployment?.rolloutState === 'COMPLETED'
      ? waitingForTargetsText(rollout.unhealthyTargets ?? [])
      : '';
  return [...(waiting ? [context(waiting)] : []), section(targetHealthText(rollout.targetHealth, LIMITS.sectionText))];
};

const rolloutBlocks = (rollout: RolloutProgress | undefined): KnownBlock[] => {
  if (!rollout) return [];
  const table = deploymentsTable(rollout);
  return [
    ...(rollout.staged ? stagedBlocks(rollout.staged) : []),
    ...(rollout.timeoutExtended && rollout.outcome === 'in_progress'
      ? [context(timeoutExtendedText(rollout.timeoutExtended))]
      : []),
    table ? section(table) : undefined,
    rollout.reason && rollout.outcome === 'failed' ? section(`*ECS says* ${outside(rollout.reason, 1000)}`) : undefined,
    ...alarmFailureBlocks(rollout.alarms),
    ...alarmsBlocks(rollout.alarms),
    ...targetHealthBlocks(rollout),
    failureEventsSection(rollout.failureEvents),
    stoppedSection(rollout.stoppedTasks),
  ].filter((b): b is KnownBlock => b !== undefined);
};

// -----------------------------------------------------------------------------------------------------------------
// Buttons

/** Docker-host rollout phases, as the card says them. */
const HOST_PHASES: Record<string, string> = {
  pulling: ':arrow_down: Pulling the image',
  stopping_old: ':pause_button: Stopping the old container to free its host port (a short gap)',
  starting: ':arrow_forward: Starting the new container beside the old one',
  waiting_healthy: ':stethoscope: Waiting until the new container is healthy',
  removing_old: ':wastebasket: Removing the old container',
  restoring_old: ':leftwards_arrow_with_hook: Restarting the old container',
};

const canAbort = (v: DeploymentView): boolean => v.canAbort ?? (v.state === 'rolling_out' && v.kind !== 'scale');
const canRollback = (v: DeploymentView): boolean =>
  v.canRollback ?? (v.state === 'failed' && v.facts.previousRevision !== undefined && v.facts.revision !== undefined);
const canCancel = (v: DeploymentView): boolean =>
  (v.canCancel ?? false) && ['requested', 'approved', 'building', 'pushing', 'registering'].includes(v.state);

/** The question of the Approve dialog, in plain text: "Deploy main (3f2a1bc) to api in production?" */
const approveQuestion = (v: DeploymentView): string => {
  const where = `${v.service} in ${v.environment}`;
  switch (v.kind) {
    case 'deploy': {
      const promotion = promotionOf(v);
      if (promotion) return promoteQuestion(v, promotion);
      const tag = imageTagOf(v.request);
      const sha = v.facts.commitSha;
      const source = tag
        ? `image ${tag}`
        : `${refOf(v.request) ?? 'the default ref'}${sha ? ` (${shortSha(sha)})` : ''}`;
      return `Deploy ${source} to ${where}?`;
    }
    case 'restart':
      return `Restart ${where}?`;
    case 'rollback':
      return `Roll ${where} back to ${targetRevision(v) ?? 'the previous revision'}?`;
    case 'scale':
      return `Scale ${where} to ${countOf(v.request) ?? 'a new count of'} ${unit(v)}s?`;
  }
};

/** Approve of an image the scan gate holds: no confirm dialog, since it opens the reason dialog instead. */
const approveWithReasonButton = (v: DeploymentView) => ({
  type: 'button' as const,
  text: { type: 'plain_text' as const, text: APPROVE_WITH_REASON, emoji: true },
  action_id: ACTIONS.approveWithReason,
  value: v.id,
  style: 'primary' as const,
});

const approvalButtons = (v: DeploymentView): KnownBlock => {
  return {
    type: 'actions',
    elements: [
      v.approvalPolicy?.scanGate
        ? approveWithReasonButton(v)
        : button('Approve', ACTIONS.approve, v.id, 'primary', {
            title: `Approve #${v.seq}?`,
            text: `${approveQuestion(v)} It starts as soon as the approvals are complete.`,
            confirm: 'Approve',
          }),
      button('Reject', ACTIONS.reject, v.id, 'danger', {
        title: `Reject #${v.seq}?`,
        text: `${operationTitle(v)} will not happen. The card shows who rejected it.`,
        confirm: 'Reject',
      }),
    ],
  };
};

const abortButton = (v: DeploymentView) => {
  const previous = v.facts.previousRevision;
  return button('Abort', ACTIONS.abort, v.id, 'danger', {
    title: `Abort #${v.seq}?`,
    text: `ECS stops this rollout${previous ? ` and returns ${v.service} in ${v.environment} to ${previous}` : ''}.`,
    confirm: 'Abort',
  });
};

const rollbackButton = (v: DeploymentView) => {
  const previous = v.facts.previousRevision ?? 'the previous revision';
  return button(`Roll back to ${previous}`, ACTIONS.rollback, v.id, 'danger', {
    title: `Roll back ${v.service}?`,
    text: `Redeploy ${previous} to ${v.environment}.`,
    confirm: 'Roll back',
  });
};

const cancelButton = (v: DeploymentView) =>
  button('Cancel', ACTIONS.cancel, v.id, undefined, {
    title: `Cancel #${v.seq}?`,
    text: 'The work stops here; nothing has been rolled out yet.',
    confirm: 'Cancel it',
  });

const actionsBlock = (v: DeploymentView): KnownBlock | undefined => {
  const elements = [
    ...(canAbort(v) ? [abortButton(v)] : []),
    ...(canRollback(v) ? [rollbackButton(v)] : []),
    ...(canCancel(v) ? [cancelButton(v)] : []),
  ];
  return elements.length > 0 ? { type: 'actions', elements } : undefined;
};

// -----------------------------------------------------------------------------------------------------------------
// The card

/** States that mean the approvals were complete; their footer keeps who approved. */
const APPROVED_BEFORE: ReadonlySet<DeploymentState> = new Set([
  'building',
  'pushing',
  'registering',
  'rolling_out',
  'succeeded',
  'failed',
  'aborted',
  'rolled_back',
]);

const footer = (v: DeploymentView): KnownBlock => {
  const parts = [`Requested by ${user(v.requestedBy)} ${date(v.requestedAt)}`];
  if (v.approvals.length > 0 && APPROVED_BEFORE.has(v.state)) {
    parts.push(`approved by ${v.approvals.map((a) => user(a.user)).join(', ')}`);
  }
  parts.push(code(v.id));
  return context(parts.join(' · '));
};

const decidedBy = (v: DeploymentView, key: 'rejectedBy' | 'cancelledBy' | 'abortedBy'): string => {
  const who = v.facts[key];
  return who ? ` by ${user(who)}` : '';
};

const because = (v: DeploymentView): string => (v.reason ? `: ${outside(v.reason, 1000)}` : '');

interface Rendered {
  /** The status line, mrkdwn. */
  status: string;
  /** The plain-text fallback after the title. */
  summary: string;
  body: KnownBlock[];
  /** Below the buttons: what to do next. */
  after?: KnownBlock[];
}

const renderState = (v: DeploymentView, state: DeploymentState): Rendered => {
  const requester = user(v.requestedBy);
  switch (state) {
    case 'requested':
      return {
        status: `:hourglass_flowing_sand: *Starting* — ${what(v)}`,
        summary: v.scanWait ? 'starting, waiting for the image scan' : 'starting',
        body: v.scanWait
          ? [context(`Waiting for the image scan to finish (at most ${formatDuration(v.scanWait.waitMs)}).`)]
          : [],
      };

    case 'awaiting_approval': {
      const { count, who } = approvalCount(v);
      const extra = [`*Approvals*\n${count}${who ? `: ${who}` : ''}`];
      if (v.expiresAt) extra.push(`*Expires*\n${date(v.expiresAt)}`);
      const approvers = v.approvalPolicy?.approvers ?? [];
      return {
        status: `:raised_hand: *Waiting for approval* — ${requester} asks to ${VERB[v.kind]} ${what(v)} in *${escapeText(v.environment)}*`,
        summary: `waiting for approval (${count})`,
        body: [
          ...planBlocks(v, extra),
          ...scanGateNote(v),
          ...(approvers.length > 0 ? [context(`Who can approve: ${approvers.map(principal).join(', ')}`)] : []),
          approvalButtons(v),
        ],
      };
    }

    case 'approved': {
      const by = v.approvals.map((a) => user(a.user)).join(', ') || 'policy';
      return {
        status: `:white_check_mark: *Approved* — ${what(v)} starts now`,
        summary: 'approved',
        body: [...planBlocks(v, []), context(`:white_check_mark: Approved by ${by}`)],
      };
    }

    case 'rejected':
      return {
        status: `:no_entry_sign: *Rejected*${decidedBy(v, 'rejectedBy')}${because(v)}`,
        summary: 'rejected',
        body: [
          context(
            `Nothing was changed. ${requester} asked to ${VERB[v.kind]} ${what(v)} in *${escapeText(v.environment)}*.`,
          ),
        ],
      };

    case 'expired': {
      const { count, who } = approvalCount(v);
      const when = v.expiresAt ? ` at ${date(v.expiresAt)}` : '';
      return {
        status: `:hourglass: *Expired*${when} with ${count} approvals${who ? ` (${who})` : ''}`,
        summary: 'expired without approval',
        body: [context(`Nothing was changed. To ask again: ${code(commandFor(v))}`)],
      };
    }

    case 'building': {
      const b = v.build;
      const body: KnownBlock[] = [];
      if (b) {
        body.push(section(`\`${bar(b.step, b.total)}\` step ${b.step}/${b.total}: ${outsideCode(b.instruction)}`));
        const last = b.lastLines?.filter((l) => l.trim() !== '').at(-1);
        if (last !== undefined) body.push(section(codeBlock([last], '*Output*')));
      }
      return {
        status: `:hammer_and_wrench: *Building* ${what(v)}`,
        summary: b ? `building, step ${b.step}/${b.total}` : 'building',
        body,
      };
    }

    case 'pushing': {
      if (promotionOf(v)) return copyingStatus(v);
      const percent = Math.max(0, Math.min(100, Math.round(v.push?.percent ?? 0)));
      const image = v.facts.image;
      return {
        status: `:package: *Pushing*${image ? ` ${code(image)}` : ' the image'}`,
        summary: `pushing, ${percent}%`,
        body: [section(`\`${bar(percent, 100)}\` ${percent}%`)],
      };
    }

    case 'registering': {
      const from = v.plan?.currentRevision;
      const image = v.plan?.newImage ?? v.facts.image;
      const body = [changesSection(v)].filter((b): b is KnownBlock => b !== undefined);
      return {
        status: `:memo: *Registering* a new revision${from ? ` of ${code(from)}` : ''}${image ? ` with ${code(image)}` : ''}`,
        summary: 'registering the task definition',
        body,
      };
    }

    case 'rolling_out': {
      const revision = v.facts.revision ?? v.rollout?.deployment?.revision;
      const d = v.rollout?.deployment;
      const doing =
        v.kind === 'scale'
          ? `*Scaling* to ${what(v)}`
          : v.kind === 'restart'
            ? `*Restarting*${revision ? ` ${code(revision)}` : ''}`
            : `*Rolling out*${revision ? ` ${code(revision)}` : ''}`;
      const counts = d ? ` · ${d.running}/${d.desired} running` : '';
      const host = v.host
        ? [
            context(
              `${HOST_PHASES[v.host.phase] ?? escapeText(v.host.phase)}${v.host.detail ? ` — ${outside(v.host.detail, 300)}` : ''}`,
            ),
          ]
        : [];
      return {
        status: `:rocket: ${doing}${d ? ` — ${bar(d.running, d.desired)} ${d.running}/${d.desired}` : ''}`,
        summary: `rolling out${counts}${v.rollout?.staged ? ` · ${stagedSummary(v.rollout.staged)}` : ''}`,
        body: [...host, ...rolloutBlocks(v.rollout)],
      };
    }

    case 'succeeded':
      return succeeded(v);

    case 'failed':
      return failed(v);

    case 'rolled_back': {
      const previous = v.facts.previousRevision;
      return {
        status: `:leftwards_arrow_with_hook: *Rolled back*${previous ? ` — ${code(previous)} runs again` : ''}${because(v)}`,
        summary: 'rolled back',
        body: [],
      };
    }

    case 'aborted': {
      const previous = v.facts.previousRevision;
      const restore = v.failure?.restore;
      return {
        status: `:octagonal_sign: *Aborted*${decidedBy(v, 'abortedBy')}${because(v)}`,
        summary: 'aborted',
        body: [
          ...rolloutBlocks(v.rollout && { ...v.rollout, staged: undefined }),
          ...(restore
            ? [section(`:warning: Restoring ${code(restore.revision)} failed: ${outside(restore.reason, 1000)}`)]
            : v.rollout?.staged
              ? stagedAbortBlocks(v.rollout.staged, previous, v.facts.abortMethod === 'stop_service_deployment')
              : previous
                ? [context(`ECS returns the service to ${code(previous)}.`)]
                : []),
        ],
      };
    }

    case 'cancelled':
      return {
        status: `:heavy_multiplication_x: *Cancelled*${decidedBy(v, 'cancelledBy')}${because(v)}`,
        summary: 'cancelled',
        body: [context('Nothing was rolled out.')],
      };
  }
};

const duration = (v: DeploymentView): string | undefined => {
  const ms = v.facts.durationMs ?? (v.finishedAt ? v.finishedAt.getTime() - v.requestedAt.getTime() : undefined);
  return ms === undefined ? undefined : formatDuration(ms);
};

const succeeded = (v: DeploymentView): Rendered => {
  const revision = v.facts.revision;
  const previous = v.facts.previousRevision;
  const image = v.facts.image;
  const running = v.facts.runningCount;
  const ips = v.facts.publicIps ?? [];
  const took = duration(v);
  const done =
    v.kind === 'scale'
      ? `*Scaled* to ${what(v)}`
      : v.kind === 'restart'
        ? `*Restarted*${revision ? ` ${code(revision)}` : ''}`
        : v.kind === 'rollback'
          ? `*Rolled back* to ${revision ? code(revision) : 'the previous revision'}`
          : `*Deployed* ${revision ? code(revision) : what(v)}`;
  const fields: string[] = [];
  if (revision)
    fields.push(`*Revision*\n${previous && previous !== revision ? `${code(previous)} → ` : ''}${code(revision)}`);
  if (image) fields.push(`*Image*\n${code(image)}`);
  if (running !== undefined)
    fields.push(`*Running*\n${plural(running, (v.facts.containers ?? []).length > 0 ? 'container' : unit(v))}`);
  if (ips.length > 0)
    fields.push(
      `*${v.platform === 'docker' ? 'Reached at' : 'Public IPs'}*\n${lines(
        ips.map((ip) => code(ip)),
        LIMITS.field - 20,
      )}`,
    );
  if (v.kind === 'deploy' && v.facts.commitSha) fields.push(`*Commit*\n${what(v)}`);
  const copied = copyField(v);
  if (copied) fields.push(copied);
  return {
    status: `:large_green_circle: ${done} in *${escapeText(v.environment)}*${took ? ` in ${took}` : ''}`,
    summary: `succeeded${took ? ` in ${took}` : ''}`,
    body: fields.length > 0 ? [fieldsSection(fields)] : [],
  };
};

const failed = (v: DeploymentView): Rendered => {
  const f = v.failure;
  const body: KnownBlock[] = [];
  if (f?.step) {
    const heading = `*Build step* ${outsideCode(f.step)} *failed*`;
    body.push(f.output && f.output.length > 0 ? section(codeBlock(f.output, heading)) : section(heading));
  } else if (f?.output && f.output.length > 0) {
    body.push(section(codeBlock(f.output, '*Output*')));
  }
  body.push(...rolloutBlocks(v.rollout));
  if (f?.logLines && f.logLines.length > 0) body.push(section(codeBlock(f.logLines, '*Last log lines*')));
  // The error's own remedy (check a registry's credentials…) beats the generic look at the logs, and /logs helps
  // only when this deployment started tasks: after a failed build or push nothing of it ran.
  const ran = v.rollout !== undefined || (f?.logLines?.length ?? 0) > 0 || v.facts.ecsDeploymentId !== undefined;
  const next = f?.hint ? [outside(f.hint, 500)] : ran ? [code(`/logs ${v.service} in ${v.environment} since 15m`)] : [];
  if (canRollback(v)) next.push(code(`/rollback ${v.service} in ${v.environment}`));
  return {
    status: `:red_circle: *Failed*${because(v) || ' — no reason was recorded'}`,
    summary: `failed${v.reason ? `: ${truncate(v.reason, 300)}` : ''}`,
    body,
    after: next.length > 0 ? [context(`Next: ${next.join(' · ')}`)] : [],
  };
};

/** Never more than Slack's 50 blocks: the middle gives way, the status, buttons and footer stay. */
const capBlocks = (blocks: KnownBlock[]): KnownBlock[] => {
  if (blocks.length <= LIMITS.blocks) return blocks;
  const tail = blocks.slice(-2);
  return [...blocks.slice(0, LIMITS.blocks - tail.length - 1), context('…more details were left out'), ...tail];
};

const fallback = (text: string): string => truncate(escapeText(maskSecrets(text)), LIMITS.fallbackText);

/** The card of a deployment (deploy, restart, rollback or scale) in any state. `now` decides only whether an
 * approval request has lapsed, so re-rendering an unchanged view gives an identical card. */
export const deploymentCard = (view: DeploymentView, now: Date): Card => {
  const lapsed =
    view.state === 'awaiting_approval' && view.expiresAt !== undefined && view.expiresAt.getTime() <= now.getTime();
  const state: DeploymentState = lapsed ? 'expired' : view.state;
  const r = renderState(view, state);
  const buttons = state === 'awaiting_approval' ? undefined : actionsBlock({ ...view, state });
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title(view), LIMITS.headerText), emoji: true } },
    section(r.status),
    ...emergencyNote(view),
    ...r.body,
    ...(buttons ? [buttons] : []),
    ...(r.after ?? []),
    footer(view),
  ];
  return { text: fallback(`${title(view)}: ${r.summary}`), blocks: capBlocks(blocks) };
};

/** `--dry-run`: the plan, and the promise that nothing was changed. */
export const dryRunCard = (view: DeploymentView): Card => {
  const heading = `Dry run: ${operationTitle(view)}`;
  const extra: string[] = [];
  if (view.approvalPolicy) {
    // Counted, not named: a dry run must not ping the approvers.
    extra.push(`*Approval*\n${plural(view.approvalPolicy.required, 'approval')} needed`);
  }
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(heading, LIMITS.headerText), emoji: true } },
    section(
      `:mag: ${user(view.requestedBy)} asked what this would do: ${VERB[view.kind]} ${what(view)} in *${escapeText(view.environment)}*`,
    ),
    ...emergencyNote(view),
    ...planBlocks(view, extra),
    context(`*Nothing was changed.* To do it: ${code(commandFor(view))}`),
  ];
  return { text: fallback(`${heading}: plan only, nothing was changed`), blocks: capBlocks(blocks) };
};

// -----------------------------------------------------------------------------------------------------------------
// Refusals (ephemeral, to the clicker alone)

export type ApprovalRefusal =
  | { reason: 'not_approver'; policy: string; approvers: readonly string[] }
  | { reason: 'self_approval' }
  | { reason: 'expired'; expiresAt: Date }
  | { reason: 'already_approved' }
  | { reason: 'not_pending'; state: DeploymentState };

const STATE_WORDS: Record<DeploymentState, string> = {
  requested: 'is starting',
  awaiting_approval: 'is waiting for approval',
  approved: 'was already approved',
  building: 'was already approved and is building',
  pushing: 'was already approved and is pushing',
  registering: 'was already approved and is registering',
  rolling_out: 'was already approved and is rolling out',
  succeeded: 'has already succeeded',
  failed: 'has already failed',
  rejected: 'was rejected',
  expired: 'expired',
  cancelled: 'was cancelled',
  aborted: 'was aborted',
  rolled_back: 'was rolled back',
};

/** Why a click on Approve/Reject did nothing, for the clicker alone. */
export const approvalRefusal = (refusal: ApprovalRefusal): string => {
  switch (refusal.reason) {
    case 'not_approver': {
      const who = refusal.approvers.map(principal).join(', ') || 'nobody (the policy lists no approvers)';
      return `Only approvers of ${escapeText(refusal.policy)} can approve: ${who}.`;
    }
    case 'self_approval':
      return 'You requested this deployment; someone else must approve it.';
    case 'expired':
      return `This request expired at ${date(refusal.expiresAt)}. Ask again with the same command.`;
    case 'already_approved':
      return 'You have already approved this request; it needs someone else too.';
    case 'not_pending':
      return `Nothing to decide: this request ${STATE_WORDS[refusal.state]}.`;
  }
};
