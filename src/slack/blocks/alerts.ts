/**
 * Cards the scheduled watches post (DESIGN.md §3.3): pure functions from what a watch found to `{ text, blocks }`.
 * The watches (src/jobs) decide *whether* to post; these only decide how it looks. One golden test per card.
 */
import { formatDuration } from '../../core/duration.ts';
import type { HealthState } from '../../core/health.ts';
import type { DnsUpdate } from '../../core/watch/dns.ts';
import type { WatchAlert } from '../../core/watch/evaluate.ts';
import { stoppedGroupLine } from '../../core/watch/health.ts';
import type { IpChange, IpChangeCause } from '../../core/watch/ips.ts';
import type { StoppedTaskGroup } from '../../ports.ts';
import { code, date, escapeText, HEALTH_EMOJI, LIMITS, lines, safe, truncate, unescapeText, user } from '../mrkdwn.ts';
import { targetsRecoveredCard, targetsUnhealthyCard } from './target-health.ts';
import type { Card, KnownBlock } from './types.ts';

/** A service in one environment, as every alert names it. */
export interface AlertTarget {
  service: string;
  environment: string;
}

export interface DegradedAlert extends AlertTarget {
  /** Why, in plain words (stopped-task groups come first). */
  reasons: string[];
  stoppedTasks: StoppedTaskGroup[];
  desired: number;
  running: number;
  pending: number;
  /** "family:revision" the service runs. */
  revision: string;
  at: Date;
}

/** A Docker-host service became degraded. */
export interface HostDegradedAlert extends AlertTarget {
  /** Why, in plain words, naming the containers. */
  reasons: string[];
  running: number;
  /** The target's `replicas`. */
  replicas: number;
  /** The image tag (or digest) the newest container runs. */
  imageTag?: string | undefined;
  /** The engine URL without credentials. */
  host: string;
  at: Date;
}

export interface RecoveredAlert extends AlertTarget {
  /** When it became degraded. */
  since: Date;
  at: Date;
  /** What was wrong when it became degraded. */
  reasons: string[];
  desired: number;
  running: number;
  /** What runs: ECS tasks (default) or Docker-host containers. */
  unit?: 'task' | 'container' | undefined;
}

export interface IpChangedAlert extends AlertTarget, IpChange {
  cause: IpChangeCause;
  at: Date;
  /** Route 53 records updated to the new IPs this tick. */
  dns?: DnsUpdate[] | undefined;
}

export interface IpChangedByDeploymentAlert extends AlertTarget, IpChange {
  cause: Exclude<IpChangeCause, { kind: 'none' }>;
  /** When the changes started being held. */
  since: Date;
  at: Date;
  /** True when the hold timed out while the deployment was still in progress. */
  stillInProgress: boolean;
  /** Route 53 records updated to the new IPs this tick. */
  dns?: DnsUpdate[] | undefined;
}

/** Route 53 records updated without an IP change to say it with (a record that was stale, or a retry). */
export interface DnsUpdatedAlert extends AlertTarget {
  updates: DnsUpdate[];
  at: Date;
}

/** A Route 53 change failed; said once, tried again on every tick. */
export interface DnsFailedAlert extends AlertTarget {
  name: string;
  ips: string[];
  reason: string;
}

export interface PrivateSubnetAlert extends AlertTarget {
  taskIds: string[];
}

export interface WatchFailingAlert extends AlertTarget {
  reason: string;
  failedTicks: number;
  since: Date;
}

export interface WatchRecoveredAlert extends AlertTarget {
  failedTicks: number;
  since: Date;
  at: Date;
}

export interface DigestRow extends AlertTarget {
  kind: 'found' | 'missing' | 'unsupported';
  revision?: string;
  /** Set for a Docker-host service (the engine URL without credentials); it has no revision. */
  host?: string;
  imageTag?: string;
  running?: number;
  desired?: number;
  health?: HealthState;
  reasons?: string[];
  /** Why it is missing or unsupported. */
  note?: string;
}

export interface DigestDeployment extends AlertTarget {
  seq: number;
  operation: string;
  state: string;
  requestedBy: string;
  at: Date;
}

export interface DigestAlert extends AlertTarget {
  at: Date;
  kind: string;
  text: string;
}

export interface Digest {
  since: Date;
  at: Date;
  rows: DigestRow[];
  deployments: DigestDeployment[];
  alerts: DigestAlert[];
  /** ECS could not be read: the rows show what is known (Docker hosts are read one by one: their rows say). */
  error?: string | undefined;
}

export type { IpChange, IpChangeCause, IpReplacement } from '../../core/watch/ips.ts';
export { stoppedGroupLine };

// ---------------------------------------------------------------------------------------------------------------

const section = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) },
});
const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });
const name = (t: AlertTarget): string => `*${escapeText(t.service)}* · ${escapeText(t.environment)}`;
/** The name as the fallback `text` starts with it: no bold, but escaped like every piece of data there. */
const plainName = (t: AlertTarget): string => `${escapeText(t.service)} · ${escapeText(t.environment)}`;
/** The fallback `text`: Slack parses it like the blocks and notifies from it, so its data is escaped by the caller. */
const fallback = (text: string): string => truncate(text, LIMITS.fallbackText);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const ipList = (ips: readonly string[]): string => (ips.length === 0 ? '_none_' : ips.map((ip) => code(ip)).join(', '));

export const degradedCard = (a: DegradedAlert): Card => {
  const blocks: KnownBlock[] = [
    section(`${HEALTH_EMOJI.degraded} ${name(a)} is *degraded*`),
    section(lines(a.reasons.map((r) => `• ${safe(r, 500)}`))),
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Tasks*\n${a.running} running · ${a.pending} pending · ${a.desired} desired` },
        { type: 'mrkdwn', text: `*Task definition*\n${code(truncate(a.revision, 200))}` },
      ],
    },
  ];
  const examples = a.stoppedTasks.filter((g) => g.exampleTaskId !== '');
  if (examples.length > 0) {
    blocks.push(
      context(
        `Stopped tasks, e.g. ${examples
          .slice(0, 3)
          .map((g) => code(g.exampleTaskId.slice(0, 12)))
          .join(', ')} · since ${date(a.at)}`,
      ),
    );
  } else {
    blocks.push(context(`Since ${date(a.at)} · \`/status ${escapeText(a.service)} in ${escapeText(a.environment)}\``));
  }
  return { text: fallback(`${plainName(a)} is degraded: ${safe(a.reasons.join('; '))}`), blocks };
};

export const hostDegradedCard = (a: HostDegradedAlert): Card => {
  const blocks: KnownBlock[] = [
    section(`${HEALTH_EMOJI.degraded} ${name(a)} is *degraded*`),
    section(lines(a.reasons.map((r) => `• ${safe(r, 500)}`))),
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Containers*\n${a.running} running · ${a.replicas} wanted` },
        {
          type: 'mrkdwn',
          text: `*Image*\n${a.imageTag === undefined ? 'nothing deployed' : code(truncate(a.imageTag, 300))}`,
        },
        { type: 'mrkdwn', text: `*Docker host*\n${code(truncate(a.host, 200))}` },
      ],
    },
    context(
      `Since ${date(a.at)} · \`/logs ${escapeText(a.service)} in ${escapeText(a.environment)}\` · ` +
        `\`/status ${escapeText(a.service)} in ${escapeText(a.environment)}\``,
    ),
  ];
  return { text: fallback(`${plainName(a)} is degraded: ${safe(a.reasons.join('; '))}`), blocks };
};

export const recoveredCard = (a: RecoveredAlert): Card => {
  const lasted = formatDuration(a.at.getTime() - a.since.getTime());
  const blocks: KnownBlock[] = [
    section(`${HEALTH_EMOJI.healthy} ${name(a)} *recovered* after ${lasted}`),
    section(
      `${a.running}/${a.desired} ${a.unit ?? 'task'}s running.` +
        (a.reasons.length > 0 ? `\nIt was: ${safe(a.reasons.join('; '), 1000)}` : ''),
    ),
    context(`Degraded from ${date(a.since)} to ${date(a.at)}`),
  ];
  return { text: fallback(`${plainName(a)} recovered after ${lasted}`), blocks };
};

const changeLines = (c: IpChange): string[] => {
  const out: string[] = [];
  if (c.added.length > 0) out.push(`*Added* ${ipList(c.added)}`);
  if (c.removed.length > 0) out.push(`*Removed* ${ipList(c.removed)}`);
  return out;
};

const replacementLines = (c: IpChange): string[] =>
  c.replacements.map(
    (r) =>
      `task ${code(r.fromTaskId.slice(0, 12))} (${code(r.fromIp)}) → task ${code(r.toTaskId.slice(0, 12))} (${code(r.toIp)})`,
  );

const causeText = (cause: IpChangeCause): string => {
  switch (cause.kind) {
    case 'dockhand':
      return `caused by deployment #${cause.seq} (${escapeText(cause.operation)} by ${user(cause.requestedBy)})`;
    case 'ecs':
      return `caused by ECS deployment ${code(cause.deploymentId)} (${code(cause.revision)}), not started by dockhand`;
    case 'none':
      return 'not caused by a deployment: tasks were replaced';
  }
};

const plainCause = (cause: IpChangeCause): string => {
  switch (cause.kind) {
    case 'dockhand':
      return `caused by deployment #${cause.seq}`;
    case 'ecs':
      return `caused by ECS deployment ${escapeText(cause.deploymentId)}`;
    case 'none':
      return 'not caused by a deployment';
  }
};

export const ipChangedCard = (a: IpChangedAlert): Card => {
  const blocks: KnownBlock[] = [
    section(`:globe_with_meridians: Public IPs of ${name(a)} changed, ${causeText(a.cause)}`),
    section(changeLines(a).join('\n')),
  ];
  const replaced = replacementLines(a);
  if (replaced.length > 0) blocks.push(section(`*Replaced*\n${lines(replaced)}`));
  if (a.dns && a.dns.length > 0) blocks.push(section(dnsLines(a.dns)));
  blocks.push(context(`Now ${ipList(a.after)} · ${date(a.at)}`));
  const parts = [
    a.added.length > 0 ? `added ${safe(a.added.join(', '))}` : '',
    a.removed.length > 0 ? `removed ${safe(a.removed.join(', '))}` : '',
  ].filter((p) => p !== '');
  return {
    text: fallback(
      `Public IPs of ${plainName(a)} changed (${plainCause(a.cause)}): ${parts.join('; ')}${plainDns(a.dns)}`,
    ),
    blocks,
  };
};

export const ipChangedByDeploymentCard = (a: IpChangedByDeploymentAlert): Card => {
  const blocks: KnownBlock[] = [
    section(`:globe_with_meridians: Public IPs of ${name(a)} changed, ${causeText(a.cause)}`),
    section(`${ipList(a.before)}\n→ ${ipList(a.after)}`),
  ];
  const changes = changeLines(a);
  if (changes.length > 0) blocks.push(section(changes.join('\n')));
  if (a.dns && a.dns.length > 0) blocks.push(section(dnsLines(a.dns)));
  blocks.push(
    context(
      a.stillInProgress
        ? `Held since ${date(a.since)}; the deployment is still in progress, later changes follow in another message.`
        : `Held while the deployment was in progress, ${date(a.since)} to ${date(a.at)}`,
    ),
  );
  return {
    text: fallback(
      `Public IPs of ${plainName(a)} changed (${plainCause(a.cause)}): ${safe(a.before.join(', ')) || 'none'} → ${safe(a.after.join(', ')) || 'none'}${plainDns(a.dns)}`,
    ),
    blocks,
  };
};

/** "DNS updated: name → IPs", one line per record. */
const dnsLines = (updates: readonly DnsUpdate[]): string =>
  updates.map((u) => `:white_check_mark: DNS updated: ${code(u.name)} → ${ipList(u.ips)}`).join('\n');
const plainDns = (updates: readonly DnsUpdate[] | undefined): string =>
  (updates ?? []).map((u) => `. DNS updated: ${safe(u.name)} → ${safe(u.ips.join(', '))}`).join('');

export const dnsUpdatedCard = (a: DnsUpdatedAlert): Card => ({
  text: fallback(
    `${plainName(a)}: ${a.updates.map((u) => `DNS updated: ${safe(u.name)} → ${safe(u.ips.join(', '))}`).join('; ')}`,
  ),
  blocks: [
    section(`:globe_with_meridians: DNS of ${name(a)} follows its public IPs`),
    section(dnsLines(a.updates)),
    context(date(a.at)),
  ],
});

export const dnsFailedCard = (a: DnsFailedAlert): Card => ({
  text: fallback(`${plainName(a)}: DNS update of ${safe(a.name)} failed: ${safe(a.reason)}`),
  blocks: [
    section(`:warning: ${name(a)}: could not update DNS ${code(a.name)} → ${ipList(a.ips)}: ${safe(a.reason, 1500)}`),
    context('Tried again on every public-IP tick; said once, and the update is announced when it succeeds.'),
  ],
});

export const privateSubnetCard = (a: PrivateSubnetAlert): Card => {
  const ids = a.taskIds.slice(0, 5).map((id) => code(id.slice(0, 12)));
  const more = a.taskIds.length > 5 ? ` and ${a.taskIds.length - 5} more` : '';
  return {
    text: fallback(`${plainName(a)}: ${plural(a.taskIds.length, 'task')} with no public IP (private subnet)`),
    blocks: [
      section(
        `:information_source: ${name(a)}: ${plural(a.taskIds.length, 'task')} with *no public IP (private subnet)*: ${ids.join(', ')}${more}`,
      ),
      context('Said once: the public-IP watch will not mention these tasks again.'),
    ],
  };
};

export const watchFailingCard = (a: WatchFailingAlert): Card => ({
  text: fallback(`watch for ${plainName(a)} is failing: ${safe(a.reason)}`),
  blocks: [
    section(`:warning: The watch for ${name(a)} is *failing*: ${safe(a.reason, 1500)}`),
    context(
      `${plural(a.failedTicks, 'failed tick')} in a row since ${date(a.since)}. Its alerts resume by themselves when it works again.`,
    ),
  ],
});

export const watchRecoveredCard = (a: WatchRecoveredAlert): Card => {
  const down = formatDuration(a.at.getTime() - a.since.getTime());
  return {
    text: fallback(`watch for ${plainName(a)} is working again after ${down}`),
    blocks: [
      section(`:white_check_mark: The watch for ${name(a)} is *working again* after ${down}`),
      context(`${plural(a.failedTicks, 'failed tick')} from ${date(a.since)} to ${date(a.at)}`),
    ],
  };
};

// ---------------------------------------------------------------------------------------------------------------
// Digest

const digestRowLine = (r: DigestRow): string => {
  if (r.kind !== 'found') return `:white_circle: ${name(r)} — ${safe(r.note ?? r.kind, 300)}`;
  const health = r.health ?? 'healthy';
  const image = r.imageTag === undefined ? '' : ` · ${code(r.imageTag)}`;
  const reasons = r.reasons && r.reasons.length > 0 ? ` (${safe(r.reasons.join('; '), 300)})` : '';
  const counts = `${r.running ?? 0}/${r.desired ?? 0} running · ${health}${reasons}`;
  if (r.host !== undefined) {
    const what = r.imageTag === undefined ? 'nothing deployed' : code(r.imageTag);
    return `${HEALTH_EMOJI[health]} ${name(r)} — ${what} · ${counts} · Docker host`;
  }
  return `${HEALTH_EMOJI[health]} ${name(r)} — ${code(r.revision ?? '?')}${image} · ${counts}`;
};

const deploymentLine = (d: DigestDeployment): string =>
  `#${d.seq} ${escapeText(d.operation)} ${name(d)} · ${escapeText(d.state)} · ${user(d.requestedBy)} · ${date(d.at)}`;

const alertLine = (a: DigestAlert): string => {
  // The alert's own text (its fallback, escaped when it was posted) starts with the service's name, already shown
  // in bold. Unescaped first, so that safe() escapes it exactly once.
  const own = `${plainName(a)} `;
  const posted = unescapeText(a.text);
  const text = posted.startsWith(own) ? posted.slice(own.length) : posted;
  return `${date(a.at)} ${name(a)} ${safe(text, 300)}`;
};

/** Packs lines into sections under Slack's per-section limit, at most `maxSections`. */
const packed = (title: string, items: readonly string[], maxSections: number): KnownBlock[] => {
  const blocks: KnownBlock[] = [];
  let current: string[] = [`*${title}*`];
  let length = current[0]?.length ?? 0;
  for (const [i, item] of items.entries()) {
    if (length + item.length + 1 > LIMITS.sectionText - 40) {
      if (blocks.length + 1 >= maxSections) {
        current.push(`…and ${items.length - i} more`);
        break;
      }
      blocks.push(section(current.join('\n')));
      current = [];
      length = 0;
    }
    current.push(item);
    length += item.length + 1;
  }
  if (current.length > 0) blocks.push(section(current.join('\n')));
  return blocks;
};

export const digestCard = (d: Digest): Card => {
  const counts = new Map<string, number>();
  for (const r of d.rows) {
    const key = r.kind === 'found' ? (r.health ?? 'healthy') : 'unknown';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: 'Daily digest' } },
    context(`From ${date(d.since)} to ${date(d.at)} · ${plural(d.rows.length, 'service')}: ${summary || 'none'}`),
  ];
  if (d.error) blocks.push(section(`:warning: Could not read ECS, so health is unknown: ${safe(d.error, 1000)}`));
  blocks.push(...packed('Services', d.rows.map(digestRowLine), 30));
  blocks.push(
    ...(d.deployments.length > 0
      ? packed(`Deployments (${d.deployments.length})`, d.deployments.map(deploymentLine), 6)
      : [section('*Deployments*\nNone.')]),
  );
  blocks.push(
    ...(d.alerts.length > 0
      ? packed(`Alerts (${d.alerts.length})`, d.alerts.map(alertLine), 6)
      : [section('*Alerts*\nNone.')]),
  );
  const text =
    `Daily digest: ${plural(d.rows.length, 'service')} (${summary || 'none'}), ` +
    `${plural(d.deployments.length, 'deployment')}, ${plural(d.alerts.length, 'alert')}`;
  return { text: fallback(text), blocks: blocks.slice(0, LIMITS.blocks) };
};

// ---------------------------------------------------------------------------------------------------------------
// A watch's alert (data, from src/core/watch/evaluate.ts) → its card

export const alertCard = (target: AlertTarget, alert: WatchAlert, at: Date): Card => {
  const name = { service: target.service, environment: target.environment };
  switch (alert.kind) {
    case 'degraded': {
      const { runs } = alert;
      return runs.unit === 'task'
        ? degradedCard({ ...name, reasons: alert.reasons, stoppedTasks: alert.stoppedTasks, ...omitUnit(runs), at })
        : hostDegradedCard({
            ...name,
            reasons: alert.reasons,
            running: runs.running,
            replicas: runs.desired,
            imageTag: runs.imageTag,
            host: runs.host,
            at,
          });
    }
    case 'recovered': {
      const { runs } = alert;
      return recoveredCard({
        ...name,
        since: alert.since,
        at,
        reasons: alert.reasons,
        desired: runs.desired,
        running: runs.running,
        ...(runs.unit === 'task' ? {} : { unit: runs.unit }),
      });
    }
    case 'ip-changed':
      return ipChangedCard({ ...name, ...alert, at });
    case 'ip-changed-by-deployment':
      return ipChangedByDeploymentCard({ ...name, ...alert, at });
    case 'private-subnet':
      return privateSubnetCard({ ...name, taskIds: alert.taskIds });
    case 'dns-updated':
      return dnsUpdatedCard({ ...name, updates: alert.updates, at });
    case 'dns-failed':
      return dnsFailedCard({ ...name, name: alert.name, ips: alert.ips, reason: alert.reason });
    case 'watch-failing':
      return watchFailingCard({ ...name, reason: alert.reason, failedTicks: alert.failedTicks, since: alert.since });
    case 'watch-recovered':
      return watchRecoveredCard({ ...name, failedTicks: alert.failedTicks, since: alert.since, at });
    case 'targets-unhealthy':
      return targetsUnhealthyCard({ ...name, ...alert, at });
    case 'targets-recovered':
      return targetsRecoveredCard({ ...name, ...alert, at });
  }
};

const omitUnit = <T extends { unit: unknown }>({ unit: _unit, ...rest }: T): Omit<T, 'unit'> => rest;
