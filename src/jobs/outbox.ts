/**
 * Save and post, the last stages of a watch tick, for one target: the new state is written with its alerts in an
 * outbox BEFORE anything is posted; then each alert of the outbox goes through the per-channel pacer and is taken
 * out (one write per post, alerts are rare), and is also an audit event (the digest lists them). A failed post, or
 * a replica killed mid-tick, leaves the rest in the outbox: the next tick, on whichever replica, posts them first.
 * So no alert is lost, and at most the one post in flight when a process died can be repeated.
 */
import type { AlertKind, WatchMemory } from '../core/watch/evaluate.ts';
import type { Logger } from '../logger.ts';
import type { Store } from '../ports.ts';
import type { AlertTarget } from '../slack/blocks/alerts.ts';
import type { Card } from '../slack/blocks/types.ts';
import type { ChannelPacer } from './pacer.ts';

/** Alerts kept per service while Slack refuses them (a channel the bot cannot post to): the newest. */
export const MAX_PENDING_ALERTS = 20;
export const ALERT_AUDIT_ACTION = 'watch.alert';

/** Everything a watch remembers about one service/environment between ticks (store key: stateKey). */
export interface TargetState extends WatchMemory {
  /** Alerts decided but not yet posted, oldest first: posted first by the next tick. */
  outbox?: PendingAlert[] | undefined;
}

export interface PendingAlert {
  kind: AlertKind;
  channel: string;
  card: Card;
}

export interface SaveAndPost {
  key: string;
  target: AlertTarget & { channel: string };
  /** What the store holds now. */
  prev: TargetState;
  /** What to remember (its outbox is replaced). */
  next: TargetState;
  /** The alerts of this tick, rendered. */
  alerts: readonly { kind: AlertKind; card: Card }[];
  at: Date;
}

export interface Posted {
  posted: number;
  failed: boolean;
}

/** The outbox: what a previous tick left, then this tick's alerts, the newest MAX_PENDING_ALERTS. */
const outboxOf = (job: SaveAndPost, logger: Logger): PendingAlert[] => {
  const { target, prev, alerts } = job;
  const queued: PendingAlert[] = [
    ...(prev.outbox ?? []),
    ...alerts.map((alert) => ({ kind: alert.kind, channel: target.channel, card: alert.card })),
  ];
  const outbox = queued.slice(-MAX_PENDING_ALERTS);
  if (outbox.length < queued.length) {
    logger.error(
      { ...nameOf(target), dropped: queued.length - outbox.length, channel: target.channel },
      'watch: alerts could not be posted for many ticks; dropping the oldest',
    );
  }
  return outbox;
};

const nameOf = (t: AlertTarget): AlertTarget => ({ service: t.service, environment: t.environment });

/** What JSON.stringify writes for `value` under `key`: toJSON's answer (a Date's ISO string), finite numbers. */
const asJson = (value: unknown, key: string): unknown => {
  const v =
    typeof value === 'object' && value !== null && typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ? (value as { toJSON: (key: string) => unknown }).toJSON(key)
      : value;
  return typeof v === 'number' && !Number.isFinite(v) ? null : v;
};

/** Left out of an object by JSON.stringify (and written as null in an array). */
const omitted = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol';

/**
 * JSON.stringify(a) === JSON.stringify(b), without writing either (two strings of each watched target's state
 * every tick: ~4.5 MiB of allocation a tick at 1,000 services). Keys compare in order, as the strings would.
 */
export const sameJson = (a: unknown, b: unknown, key = ''): boolean => {
  const x = asJson(a, key);
  const y = asJson(b, key);
  if (typeof x !== 'object' || x === null || typeof y !== 'object' || y === null) {
    return x === y || (omitted(x) && omitted(y));
  }
  if (Array.isArray(x) || Array.isArray(y)) {
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) {
      const key = String(i);
      const u = asJson(x[i], key);
      const v = asJson(y[i], key);
      if (!sameJson(omitted(u) ? null : u, omitted(v) ? null : v, key)) return false;
    }
    return true;
  }
  const xs = x as Record<string, unknown>;
  const ys = y as Record<string, unknown>;
  const xKeys = Object.keys(xs);
  const yKeys = Object.keys(ys);
  // Both lists of keys walked in step, each skipping what JSON leaves out.
  let j = 0;
  for (const k of xKeys) {
    if (omitted(asJson(xs[k], k))) continue;
    while (j < yKeys.length && omitted(asJson(ys[yKeys[j] as string], yKeys[j] as string))) j++;
    if (yKeys[j] !== k || !sameJson(xs[k], ys[k], k)) return false;
    j++;
  }
  while (j < yKeys.length && omitted(asJson(ys[yKeys[j] as string], yKeys[j] as string))) j++;
  return j === yKeys.length;
};

/** Remember, then announce: the new state and its alerts (behind any a previous tick left) in one write. */
export const saveAndPost = async (
  store: Store,
  pacer: ChannelPacer,
  job: SaveAndPost,
  logger: Logger,
): Promise<Posted> => {
  const { key, target, prev, at } = job;
  const name = nameOf(target);
  const outbox = outboxOf(job, logger);
  let posted = 0;
  try {
    let remembered: TargetState = { ...job.next, outbox: outbox.length > 0 ? outbox : undefined };
    if (!sameJson(remembered, prev)) await store.putState(key, remembered, at);
    for (const [i, alert] of outbox.entries()) {
      await pacer.post(alert.channel, alert.card);
      posted++;
      const rest = outbox.slice(i + 1);
      remembered = { ...remembered, outbox: rest.length > 0 ? rest : undefined };
      await store.putState(key, remembered, at);
      // Posted and taken out: a failed audit write must not stop the others (nor post this one again).
      await store
        .appendAudit({
          at,
          actor: 'dockhand',
          action: ALERT_AUDIT_ACTION,
          service: target.service,
          environment: target.environment,
          outcome: alert.kind,
          detail: { text: alert.card.text },
        })
        .catch((error: unknown) => logger.error({ err: error, ...name }, 'watch: could not audit a posted alert'));
      logger.info({ ...name, alert: alert.kind, channel: alert.channel }, alert.card.text);
    }
    return { posted, failed: false };
  } catch (error) {
    // What was not posted stays in the outbox (or, if even the state could not be written, the next tick sees
    // the same change again): the next tick tries again.
    logger.error({ err: error, ...name }, 'watch: could not post or remember an alert');
    return { posted, failed: true };
  }
};
