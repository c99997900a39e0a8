import { formatDuration } from '../../core/duration.ts';
import { assessHealth, assessHostHealth } from '../../core/health.ts';
import type { RuntimeSnapshot } from '../../core/runtime.ts';
import type { StatusRow } from '../../core/status.ts';
import type { ResolvedTarget } from '../../core/targets.ts';
import { taskAddress } from '../../core/task-address.ts';
import type { DeploymentSnapshot, HostContainer, HostSnapshot, ServiceSnapshot, TaskSnapshot } from '../../ports.ts';
import { code, date, escapeText, HEALTH_EMOJI, LIMITS, lines, safe, truncate } from '../mrkdwn.ts';
import { targetHealthText } from './target-health.ts';
import type { Card, KnownBlock } from './types.ts';

const section = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) },
});

const deploymentLine = (d: DeploymentSnapshot): string => {
  const state = d.rolloutState ? ` · ${d.rolloutState}` : '';
  const reason = d.rolloutStateReason && d.rolloutState === 'FAILED' ? ` — ${safe(d.rolloutStateReason, 300)}` : '';
  return (
    `*${escapeText(d.status)}* ${code(d.revision)}${state} · ${d.running}/${d.desired} running, ` +
    `${d.pending} pending, ${d.failed} failed${reason}`
  );
};

const taskLine = (t: TaskSnapshot): string => {
  const ip = taskAddress(t) ?? (t.eniId || t.containerInstanceArn ? 'no public IP' : '—');
  const priv = t.privateIp ? ` (private ${escapeText(t.privateIp)})` : '';
  return `${code(t.id.slice(0, 12))} ${escapeText(t.lastStatus)} · ${escapeText(t.health)} · ${code(t.revision)} · ${escapeText(ip)}${priv}`;
};

/** A snapshot older than this says how old it is (SharedSnapshots serves them up to DOCKHAND_SNAPSHOT_MAX_AGE_MS). */
export const AGE_STATED_AFTER_MS = 2_000;

/** "As of <date>", and ", 4 s ago" when the state shown was read a while before `now`. */
export const asOf = (observedAt: Date | undefined, now: Date): string => {
  const at = observedAt ?? now;
  const ageMs = now.getTime() - at.getTime();
  return ageMs >= AGE_STATED_AFTER_MS ? `As of ${date(at)}, ${Math.round(ageMs / 1000)} s ago` : `As of ${date(now)}`;
};

/** A card whose data came from a snapshot: it says how old that is, at the end, once it is not fresh. */
export const withSnapshotAge = (card: Card, observedAt: Date | undefined, now: Date): Card =>
  observedAt && now.getTime() - observedAt.getTime() >= AGE_STATED_AFTER_MS
    ? {
        ...card,
        blocks: [...card.blocks, { type: 'context', elements: [{ type: 'mrkdwn', text: asOf(observedAt, now) }] }],
      }
    : card;

/** The /status card of one service in one environment, in the words of the runtime that runs it. */
export const statusCard = (target: ResolvedTarget, snapshot: RuntimeSnapshot, now: Date): Card =>
  snapshot.detail.kind === 'docker'
    ? hostStatusCard(target, snapshot.detail.host, now, snapshot.detail.replicas)
    : serviceStatusCard(target, snapshot.detail.service, now);

/** The /status card for one ECS service in one environment. */
export const serviceStatusCard = (target: ResolvedTarget, s: ServiceSnapshot, now: Date): Card => {
  const health = assessHealth(s);
  const td = `${s.taskDefinition.family}:${s.taskDefinition.revision}`;
  const title = `${target.service} · ${target.environment}`;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title, LIMITS.headerText) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Health*\n${HEALTH_EMOJI[health.state]} ${health.state}` },
        { type: 'mrkdwn', text: `*Tasks*\n${s.running} running · ${s.pending} pending · ${s.desired} desired` },
        { type: 'mrkdwn', text: `*Task definition*\n${code(truncate(td, 300))}` },
        { type: 'mrkdwn', text: `*Cluster / service*\n${code(s.ref.cluster)} / ${code(s.ref.service)}` },
      ],
    },
  ];
  if (health.reasons.length > 0) blocks.push(section(`:warning: ${safe(health.reasons.join('; '))}`));
  blocks.push(
    section(`*Images*\n${lines(s.taskDefinition.containers.map((c) => `${code(c.name)} ${code(c.image)}`))}`),
  );
  if (s.deployments.length > 0) blocks.push(section(`*Deployments*\n${lines(s.deployments.map(deploymentLine))}`));
  blocks.push(
    section(
      s.tasks.length > 0
        ? `*Tasks* (${s.tasks.length})\n${lines(s.tasks.map(taskLine))}`
        : '*Tasks*\nNo running tasks.',
    ),
  );
  if (s.targetHealth && s.targetHealth.length > 0) {
    blocks.push(section(`*Load balancer targets*\n${targetHealthText(s.targetHealth, LIMITS.sectionText - 30)}`));
  }
  const events = s.events.slice(0, 5);
  if (events.length > 0) {
    blocks.push(section(`*Recent events*\n${lines(events.map((e) => `${date(e.at)} ${safe(e.message, 400)}`))}`));
  }
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: `${asOf(s.observedAt, now)} · ${code(`/deploy ${target.service} to ${target.environment}`)}`,
      },
    ],
  });
  const ips = s.tasks.map(taskAddress).filter((ip) => ip !== undefined);
  // The fallback text is parsed like the blocks: its data is escaped too.
  const text = truncate(
    `${safe(title)}: ${health.state}, ${safe(td)}, ${s.running}/${s.desired} running` +
      (ips.length > 0 ? `, IPs ${safe(ips.join(', '))}` : ''),
    LIMITS.fallbackText,
  );
  return { text, blocks };
};

const rowLine = (row: StatusRow): string => {
  const name = `*${escapeText(row.target.service)}* · ${escapeText(row.target.environment)}`;
  if (row.kind !== 'found') return `:white_circle: ${name} — ${safe(row.reason, 300)}`;
  const detail = row.snapshot.detail;
  if (detail.kind === 'docker') {
    const health = assessHostHealth(detail.host, detail.replicas);
    const image = detail.host.containers[0]?.image;
    return (
      `${HEALTH_EMOJI[health.state]} ${name} — ${image ? code(shortImage(image)) : 'nothing deployed'} · ` +
      `${health.running}/${health.replicas} running · ${health.state} · Docker host`
    );
  }
  const s = detail.service;
  const health = assessHealth(s);
  return (
    `${HEALTH_EMOJI[health.state]} ${name} — ${code(`${s.taskDefinition.family}:${s.taskDefinition.revision}`)} · ` +
    `${s.running}/${s.desired} running · ${health.state}` +
    (health.reasons.length > 0 ? ` (${safe(health.reasons.join('; '), 300)})` : '')
  );
};

/** When the oldest snapshot among the rows was read (undefined when none says). */
const oldestObservation = (rows: readonly StatusRow[]): Date | undefined =>
  rows
    .flatMap((r) => (r.kind === 'found' && r.snapshot.observedAt ? [r.snapshot.observedAt] : []))
    .reduce<Date | undefined>((oldest, at) => (oldest === undefined || at < oldest ? at : oldest), undefined);

/** `/status` without a service: one line per configured service/environment. */
export const overviewCard = (rows: readonly StatusRow[], now: Date): Card => {
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: 'Services' } }];
  // One section holds up to 3000 characters; a large config spreads over several, far below the 50-block limit.
  const rendered = rows.map(rowLine);
  let chunk: string[] = [];
  const flush = () => {
    if (chunk.length > 0) blocks.push(section(chunk.join('\n')));
    chunk = [];
  };
  for (const line of rendered) {
    if (blocks.length >= LIMITS.blocks - 3) break;
    if ([...chunk, line].join('\n').length > LIMITS.sectionText) flush();
    chunk.push(truncate(line, LIMITS.sectionText));
  }
  flush();
  const shown = blocks.length - 1;
  if (shown === 0) blocks.push(section('No services are configured.'));
  blocks.push({
    type: 'context',
    elements: [
      { type: 'mrkdwn', text: `${asOf(oldestObservation(rows), now)} · ${code('/status <service>')} for details` },
    ],
  });
  const counts = rows.reduce<Record<string, number>>((acc, r) => {
    const detail = r.kind === 'found' ? r.snapshot.detail : undefined;
    const state = !detail
      ? 'unknown'
      : detail.kind === 'docker'
        ? assessHostHealth(detail.host, detail.replicas).state
        : assessHealth(detail.service).state;
    acc[state] = (acc[state] ?? 0) + 1;
    return acc;
  }, {});
  const text = `Services: ${
    Object.entries(counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ') || 'none'
  }`;
  return { text, blocks };
};

// ---------------------------------------------------------------------------------------------------------------
// Docker-host targets

const hostReplicas = (target: ResolvedTarget): number =>
  target.envConfig.target.type === 'docker' ? target.envConfig.target.replicas : 1;

/** "repo@sha256:abcdef…" → "repo@sha256:abcdef123456"; tags as they are. */
const shortImage = (image: string): string => {
  const at = image.indexOf('@');
  return at >= 0 ? image.slice(0, at + 1 + 19) : image;
};

const containerLine = (c: HostContainer, now: Date): string => {
  const uptime =
    c.state === 'running' && c.startedAt ? ` · up ${formatDuration(now.getTime() - c.startedAt.getTime())}` : '';
  const restarts = c.restartCount > 0 ? ` · ${c.restartCount} restarts` : '';
  const digest = c.digest ? ` · ${code(c.digest.slice(0, 19))}` : '';
  return `${code(c.name)} ${escapeText(c.state)} · ${escapeText(c.health)}${uptime}${restarts} · ${code(shortImage(c.image))}${digest}`;
};

/**
 * The /status card of a service on a Docker host: its containers from the engine's inspect data. `replicas` is the
 * count it should run (the last /scale), default dockhand.yml's.
 */
export const hostStatusCard = (
  target: ResolvedTarget,
  s: HostSnapshot,
  now: Date,
  replicas: number = hostReplicas(target),
): Card => {
  const health = assessHostHealth(s, replicas);
  const title = `${target.service} · ${target.environment}`;
  const image = s.containers[0]?.image;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title, LIMITS.headerText) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Health*\n${HEALTH_EMOJI[health.state]} ${health.state}` },
        { type: 'mrkdwn', text: `*Containers*\n${health.running} running · ${health.replicas} wanted` },
        { type: 'mrkdwn', text: `*Image*\n${image ? code(truncate(shortImage(image), 300)) : 'nothing deployed'}` },
        {
          type: 'mrkdwn',
          text: `*Docker host*\n${code(truncate(s.host, 200))}${s.publicAddress ? ` (${safe(s.publicAddress, 200)})` : ''}`,
        },
      ],
    },
  ];
  if (health.reasons.length > 0) blocks.push(section(`:warning: ${safe(health.reasons.join('; '))}`));
  blocks.push(
    section(
      s.containers.length > 0
        ? `*Containers* (${s.containers.length})\n${lines(s.containers.map((c) => containerLine(c, now)))}`
        : '*Containers*\nNo container of this service runs on the host.',
    ),
  );
  blocks.push({
    type: 'context',
    elements: [
      { type: 'mrkdwn', text: `As of ${date(now)} · ${code(`/deploy ${target.service} to ${target.environment}`)}` },
    ],
  });
  return {
    text: `${safe(title)}: ${health.state}, ${health.running}/${health.replicas} containers running${image ? `, ${safe(shortImage(image), 300)}` : ''}`,
    blocks,
  };
};
