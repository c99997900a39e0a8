/**
 * Replies of the operating commands: /logs (lines as code blocks), /dockhand history, ips, lock and unlock, and the
 * rollback card's note on which rule chose the revision. Pure functions from core results to messages; everything
 * from outside (log lines, reasons) is masked, escaped and cut here or in mrkdwn.ts.
 */
import type { DeploymentView } from '../../core/deploy/view.ts';
import { formatDuration } from '../../core/duration.ts';
import type { History, HistoryEntry } from '../../core/operate/history.ts';
import type { TaskAddresses } from '../../core/operate/ips.ts';
import type { LogsReport } from '../../core/operate/logs.ts';
import { maskSecrets } from '../../logger.ts';
import type { DeploymentRecord, Lock } from '../../ports.ts';
import { code, date, escapeText, LIMITS, lines, safe, truncate, user } from '../mrkdwn.ts';
import { deploymentCard } from './deploy.ts';
import type { Card, KnownBlock } from './types.ts';

const section = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) },
});
const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
const header = (text: string): KnownBlock => ({
  type: 'header',
  text: { type: 'plain_text', text: truncate(text, LIMITS.headerText), emoji: true },
});
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
/**
 * The fallback `text`: Slack parses it like the blocks and notifies from it, so the caller escapes the data in it
 * (safe, code, escapeText) and dockhand's own mentions stay mentions (escaping the whole would show `&lt;@U…&gt;`).
 */
const fallback = (text: string): string => truncate(text, LIMITS.fallbackText);

// -----------------------------------------------------------------------------------------------------------------
// /logs

/** Log text in a code block: escaped, no backticks, control characters gone, each line cut. */
const logText = (text: string): string =>
  truncate(
    escapeText(maskSecrets(text))
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
      .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
      .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, ' ')
      .replace(/`/g, "'"),
    400,
  );

/** "12:03:04 1a2b3c4d message": UTC time and the task's short id, per line. */
export const logLine = (line: { at: Date; taskId: string | undefined; message: string }): string =>
  `${line.at.toISOString().slice(11, 19)} ${escapeText((line.taskId ?? '--------').slice(0, 8))} ${logText(line.message)}`;

/** Most blocks of code a logs reply uses (Slack allows 50 blocks a message). */
const MAX_CODE_BLOCKS = 40;
const CODE_BUDGET = LIMITS.sectionText - 20;

export const logsMessage = (report: LogsReport): Card => {
  const where = `${escapeText(report.service)} in ${escapeText(report.environment)}`;
  if (!report.found) {
    const driver = report.logDriver ? `the ${code(report.logDriver)} log driver` : 'no log driver at all';
    const text = `:page_facing_up: The ${code(report.container)} container of *${where}* has no awslogs configuration: it uses ${driver}, so dockhand cannot read its logs.`;
    return {
      text: fallback(`${where} does not log with awslogs (log driver: ${safe(report.logDriver ?? 'none', 200)})`),
      blocks: [
        section(text),
        context('Configure the `awslogs` driver (with `awslogs-stream-prefix`) in its task definition to use `/logs`.'),
      ],
    };
  }
  const since = formatDuration(report.sinceMs);
  const filter = report.grep === undefined ? '' : ` containing ${code(report.grep)}`;
  const count = report.more ? `at least ${report.matched}` : String(report.matched);
  if (report.lines.length === 0) {
    return {
      text: fallback(`No log lines of ${where} in the last ${since}`),
      blocks: [section(`:page_facing_up: No lines${filter} in the logs of *${where}* in the last ${since}.`)],
    };
  }
  // Newest last; when the blocks run out, the oldest lines give way.
  const chunks: string[][] = [[]];
  let size = 0;
  for (const line of [...report.lines].reverse().map(logLine)) {
    if (size + line.length + 1 > CODE_BUDGET) {
      if (chunks.length >= MAX_CODE_BLOCKS) break;
      chunks.unshift([]);
      size = 0;
    }
    chunks[0]?.unshift(line);
    size += line.length + 1;
  }
  const shown = chunks.reduce((n, c) => n + c.length, 0);
  const cut = report.cut || shown < report.lines.length;
  const summary = `${count} ${report.matched === 1 && !report.more ? 'line' : 'lines'}${filter} in the last ${since}`;
  const note = cut ? ` — output cut: the newest ${plural(shown, 'line')} are shown` : '';
  return {
    text: fallback(`Logs of ${where}: ${count} lines matched${cut ? ' (cut)' : ''}`),
    blocks: [
      section(`:page_facing_up: *Logs of ${where}*: ${summary}${note}. Newest last, times in UTC.`),
      ...chunks.filter((c) => c.length > 0).map((c) => section(`\`\`\`\n${c.join('\n')}\n\`\`\``)),
      context(`Log group ${code(report.group)} · time, task, line`),
    ],
  };
};

// -----------------------------------------------------------------------------------------------------------------
// /dockhand history

const KIND: Record<DeploymentRecord['kind'], string> = {
  deploy: 'Deploy',
  restart: 'Restart',
  rollback: 'Rollback',
  scale: 'Scale',
};

const RESULT: Record<DeploymentRecord['state'], string> = {
  requested: ':hourglass_flowing_sand: requested',
  awaiting_approval: ':raised_hand: awaiting approval',
  approved: ':white_check_mark: approved',
  building: ':hammer_and_wrench: building',
  pushing: ':package: pushing',
  registering: ':memo: registering',
  rolling_out: ':rocket: rolling out',
  succeeded: ':large_green_circle: succeeded',
  failed: ':red_circle: failed',
  rejected: ':no_entry_sign: rejected',
  expired: ':hourglass: expired',
  cancelled: ':heavy_multiplication_x: cancelled',
  aborted: ':octagonal_sign: aborted',
  rolled_back: ':leftwards_arrow_with_hook: rolled back',
};

export const historyLine = (e: HistoryEntry): string => {
  const what =
    e.kind === 'scale'
      ? e.what
        ? ` to ${safe(e.what, 100)}`
        : ''
      : e.what
        ? ` ${e.previousRevision && e.previousRevision !== e.what ? `${code(e.previousRevision)} → ` : ''}${code(e.what)}`
        : '';
  const approved = e.approvedBy.length > 0 ? `approved by ${e.approvedBy.map(user).join(', ')}` : 'no approval';
  const took = e.durationMs === undefined ? '' : ` · ${formatDuration(e.durationMs)}`;
  const why = e.reason && e.state !== 'succeeded' ? ` — ${safe(e.reason, 200).replace(/`/g, "'")}` : '';
  return `*#${e.seq}* ${KIND[e.kind]}${what} · ${RESULT[e.state]}${why} · requested by ${user(e.requestedBy)} ${date(e.requestedAt)} · ${approved}${took}`;
};

export const lockLine = (lock: Lock): string =>
  `:lock: Locked by ${user(lock.holder)} since ${date(lock.acquiredAt)}${lock.reason ? `: ${safe(lock.reason, 300)}` : ''}`;

export const historyMessage = (history: History): Card => {
  const where = `${history.service} · ${history.environment}`;
  const body =
    history.entries.length === 0
      ? 'dockhand has no operations on record here yet.'
      : lines(history.entries.map(historyLine));
  return {
    text: fallback(`History of ${escapeText(where)}: ${plural(history.entries.length, 'operation')}`),
    blocks: [
      header(`History: ${where}`),
      section(body),
      context(
        history.lock
          ? lockLine(history.lock)
          : `The last ${plural(history.entries.length, 'operation')}, oldest first · not locked`,
      ),
    ],
  };
};

// -----------------------------------------------------------------------------------------------------------------
// /dockhand ips

export const ipsMessage = (addresses: TaskAddresses): Card => {
  const where = `${addresses.service} · ${addresses.environment}`;
  const docker = addresses.platform === 'docker';
  const unit = docker ? 'container' : 'task';
  if (addresses.tasks.length === 0) {
    return {
      text: fallback(`${escapeText(where)}: no running ${unit}s`),
      blocks: [section(`*${escapeText(where)}* runs no ${unit}s right now, so it has no addresses.`)],
    };
  }
  // Container names are chosen by dockhand and short (web-1, web-2): shown whole; ECS task ids are cut.
  const rows = addresses.tasks.map(
    (t) =>
      `• ${unit} ${code(docker ? t.id : t.id.slice(0, 12))} ${code(t.revision)} ${escapeText(t.lastStatus.toLowerCase())} — public ${t.publicIp ? code(t.publicIp) : '_none_'} · private ${t.privateIp ? code(t.privateIp) : docker ? '_none_' : '_unknown_'}`,
  );
  const publicIps = addresses.tasks.flatMap((t) => (t.publicIp ? [t.publicIp] : []));
  const noPublic = docker
    ? 'No public address: the engine is reached over a local socket. Set `publicAddress` of the target in dockhand.yml.'
    : 'No task has a public IP: they run in private subnets or without assignPublicIp.';
  return {
    text: fallback(
      `${escapeText(where)}: ${publicIps.length > 0 ? safe([...new Set(publicIps)].join(', ')) : 'no public IPs'}`,
    ),
    blocks: [
      section(`*IPs of ${escapeText(where)}* (${plural(addresses.tasks.length, unit)})\n${lines(rows)}`),
      ...(publicIps.length === 0 ? [context(noPublic)] : []),
    ],
  };
};

// -----------------------------------------------------------------------------------------------------------------
// /dockhand lock | unlock

export const lockedMessage = (service: string, environment: string, lock: Lock): Card => ({
  text: fallback(
    `${user(lock.holder)} locked ${escapeText(service)} in ${escapeText(environment)}${lock.reason ? `: ${safe(lock.reason, 500)}` : ''}`,
  ),
  blocks: [
    section(
      `:lock: ${user(lock.holder)} locked *${escapeText(service)}* in *${escapeText(environment)}*${lock.reason ? `: ${safe(lock.reason, 500)}` : ''}. Deploys, rollbacks and scaling wait until \`/dockhand unlock ${escapeText(service)} in ${escapeText(environment)}\`.`,
    ),
  ],
});

export const unlockedMessage = (service: string, environment: string, by: string, lock: Lock): Card => ({
  text: fallback(`${user(by)} unlocked ${escapeText(service)} in ${escapeText(environment)}`),
  blocks: [
    section(
      `:unlock: ${user(by)} unlocked *${escapeText(service)}* in *${escapeText(environment)}* (locked by ${user(lock.holder)} since ${date(lock.acquiredAt)}${lock.reason ? `: ${safe(lock.reason, 300)}` : ''}).`,
    ),
  ],
});

// -----------------------------------------------------------------------------------------------------------------
// The deployment card, plus which rule chose a rollback's revision

/** deploymentCard, with a line saying which rule picked a rollback's revision (request.rule). */
export const operationCard = (view: DeploymentView, now: Date): Card => {
  // A rollback asks for "family:revision" (which need not start with the service's name): name it as such until
  // the pipeline records facts.revision.
  const asked = view.request.type === 'rollback' ? view.request.revision : undefined;
  const card = deploymentCard(
    typeof asked === 'string' && asked.includes(':') && view.facts.revision === undefined
      ? { ...view, facts: { ...view.facts, revision: asked } }
      : view,
    now,
  );
  const rule = view.request.type === 'rollback' ? view.request.rule : undefined;
  if (typeof rule !== 'string' || rule === '') return card;
  const note = context(`:leftwards_arrow_with_hook: Revision chosen: ${safe(rule, 300)}`);
  const blocks = [...card.blocks];
  // After the header and status line, before the details.
  blocks.splice(Math.min(2, blocks.length), 0, note);
  return { ...card, blocks: blocks.slice(0, LIMITS.blocks) };
};
