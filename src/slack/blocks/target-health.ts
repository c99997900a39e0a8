/**
 * Load balancer target health, as the rollout card and /status show it: per target group, how many of its targets
 * are healthy, then each target with its state and ELBv2's reason, and the task behind it. Pure.
 */
import { formatDuration } from '../../core/duration.ts';
import type { AlertedTarget } from '../../core/watch/targets.ts';
import type { LbTargetState, TargetGroupHealth, UnhealthyTarget } from '../../ports.ts';
import { code, date, escapeText, HEALTH_EMOJI, LIMITS, lines, truncate } from '../mrkdwn.ts';
import type { Card, KnownBlock } from './types.ts';

/** Targets listed per target group; the rest are counted. */
export const TARGETS_SHOWN = 10;

const STATE_EMOJI: Record<LbTargetState, string> = {
  healthy: ':large_green_circle:',
  initial: ':large_blue_circle:',
  unhealthy: ':red_circle:',
  'unhealthy.draining': ':red_circle:',
  draining: ':white_circle:',
  unused: ':white_circle:',
  unavailable: ':large_orange_circle:',
};

/** ELBv2's words (reasons, descriptions) are outside text: escaped, cut, backticks neutralised. */
const outside = (text: string, limit: number): string => escapeText(truncate(text, limit)).replace(/`/g, "'");

const why = (reason: string | undefined, description: string | undefined): string => {
  const parts = [reason, description].filter((x): x is string => x !== undefined && x !== '');
  return parts.length > 0 ? ` — ${outside(parts.join(': '), 300)}` : '';
};

const targetLine = (t: AlertedTarget): string => {
  const where = t.port === undefined ? t.id : `${t.id}:${t.port}`;
  const task = t.taskId ? ` task ${code(t.taskId.slice(0, 12))}` : '';
  return `${STATE_EMOJI[t.state]} ${code(where)}${task} ${escapeText(t.state)}${why(t.reason, t.description)}`;
};

/** "`api-tg` 1/2 healthy" and its targets, one per line (at most TARGETS_SHOWN). */
export const targetGroupLines = (group: TargetGroupHealth): string[] => {
  if (group.error !== undefined) {
    return [`*Target group* ${code(group.name)} — :warning: could not be read: ${outside(group.error, 400)}`];
  }
  const healthy = group.targets.filter((t) => t.state === 'healthy').length;
  const heading = `*Target group* ${code(group.name)} — ${healthy}/${group.targets.length} healthy`;
  if (group.targets.length === 0) return [`${heading} (no targets registered)`];
  const shown = group.targets.slice(0, TARGETS_SHOWN).map(targetLine);
  const more = group.targets.length - shown.length;
  return [heading, ...shown, ...(more > 0 ? [`…and ${more} more`] : [])];
};

/** The text of a target health section: every group, cut to `limit`. */
export const targetHealthText = (groups: readonly TargetGroupHealth[], limit: number): string =>
  lines(groups.flatMap(targetGroupLines), limit);

/** What a rollout waits for, once ECS completed it: "waiting for 2 targets: task `1a2b…` unhealthy — reason". */
export const waitingForTargetsText = (unhealthy: readonly UnhealthyTarget[]): string => {
  const first = unhealthy[0];
  if (!first) return '';
  const state = first.state ?? 'not registered yet';
  const others = unhealthy.length > 1 ? ` (and ${unhealthy.length - 1} more)` : '';
  return (
    `:hourglass_flowing_sand: ECS completed the deployment; waiting for its targets to be healthy: task ` +
    `${code(first.taskId.slice(0, 12))} in ${code(first.targetGroup)} is ${escapeText(state)}` +
    `${why(first.reason, first.description)}${others}`
  );
};

/** A rollout judged without its targets: dockhand may not read them (the permission named, AWS's code only). */
export const targetHealthUnreadableText = (unreadable: { permission: string; code: string }): string =>
  `:warning: Load balancer target health could not be read (${escapeText(unreadable.code)}: dockhand’s role lacks ` +
  `${code(unreadable.permission)}): this rollout is judged on ECS alone.`;

// ---------------------------------------------------------------------------------------------------------------
// The target health watch's alerts (src/core/watch/targets.ts)

export interface TargetsUnhealthyAlert {
  service: string;
  environment: string;
  targetGroup: string;
  healthy: number;
  total: number;
  unhealthy: readonly AlertedTarget[];
  at: Date;
}

export interface TargetsRecoveredAlert {
  service: string;
  environment: string;
  targetGroup: string;
  healthy: number;
  total: number;
  since: Date;
  at: Date;
}

const nameOf = (a: { service: string; environment: string }): string =>
  `*${escapeText(a.service)}* · ${escapeText(a.environment)}`;
const plainNameOf = (a: { service: string; environment: string }): string =>
  `${escapeText(a.service)} · ${escapeText(a.environment)}`;
const alertSection = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) },
});
const alertContext = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text }] });

/** A target group lost healthy targets: which targets, in which state, and ELBv2's reason. */
export const targetsUnhealthyCard = (a: TargetsUnhealthyAlert): Card => {
  const first = a.unhealthy[0];
  const headline =
    `${HEALTH_EMOJI.degraded} ${nameOf(a)}: target group ${code(a.targetGroup)} lost healthy targets — ` +
    `${a.healthy}/${a.total} healthy`;
  const shown = a.unhealthy.slice(0, TARGETS_SHOWN).map((t) => `• ${targetLine(t)}`);
  const more = a.unhealthy.length - shown.length;
  return {
    text: truncate(
      `${plainNameOf(a)}: target group ${escapeText(a.targetGroup)} lost healthy targets (${a.healthy}/${a.total} healthy)` +
        (first ? `: ${escapeText(first.state)}${first.reason ? ` ${outside(first.reason, 200)}` : ''}` : ''),
      LIMITS.fallbackText,
    ),
    blocks: [
      alertSection(headline),
      ...(shown.length > 0 ? [alertSection(lines([...shown, ...(more > 0 ? [`…and ${more} more`] : [])]))] : []),
      alertContext(
        `Since ${date(a.at)} · ${code(`/status ${a.service} in ${a.environment}`)} · ` +
          `${code(`/logs ${a.service} in ${a.environment} since 15m`)}`,
      ),
    ],
  };
};

/** Every target of the group is healthy again. */
export const targetsRecoveredCard = (a: TargetsRecoveredAlert): Card => {
  const lasted = formatDuration(a.at.getTime() - a.since.getTime());
  return {
    text: truncate(
      `${plainNameOf(a)}: target group ${escapeText(a.targetGroup)} healthy again after ${lasted}`,
      LIMITS.fallbackText,
    ),
    blocks: [
      alertSection(
        `${HEALTH_EMOJI.healthy} ${nameOf(a)}: target group ${code(a.targetGroup)} *healthy again* after ${lasted} — ` +
          `${a.healthy}/${a.total} healthy`,
      ),
      alertContext(`Unhealthy from ${date(a.since)} to ${date(a.at)}`),
    ],
  };
};
