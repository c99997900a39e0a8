/**
 * The daily digest: every service of the config as the tick read it, the deployments and the alerts since the last
 * digest. Rows come from fetch (fetch.ts `digestRow`); the card from slack/blocks/alerts.ts.
 */
import type { Config } from '../config/schema.ts';
import { allTargets, type ResolvedTarget } from '../core/targets.ts';
import type { Store } from '../ports.ts';
import { type Digest, type DigestRow, digestCard } from '../slack/blocks/alerts.ts';
import { ALERT_AUDIT_ACTION } from './outbox.ts';
import type { ChannelPacer } from './pacer.ts';

/** The first digest covers this much. */
export const FIRST_DIGEST_SPAN_MS = 24 * 3_600_000;
export const DIGEST_STATE_KEY = 'watch:digest';

export interface DigestInput {
  at: Date;
  channel: string;
  /** What the digest says of a service, from what the tick read. */
  rowOf: (target: ResolvedTarget) => DigestRow;
  /** A runtime could not be read at all. */
  error: string | undefined;
}

export const postDigest = async (
  deps: { config: Config; store: Store },
  pacer: ChannelPacer,
  input: DigestInput,
): Promise<void> => {
  const { at } = input;
  const { store, config } = deps;
  const last = await store.getState<{ at: string }>(DIGEST_STATE_KEY);
  const since = last ? new Date(last.at) : new Date(at.getTime() - FIRST_DIGEST_SPAN_MS);
  const inRange = (d: Date) => d.getTime() > since.getTime() && d.getTime() <= at.getTime();

  const rows = allTargets(config).map(input.rowOf);
  const deployments = (await store.listDeployments({ limit: 500 }))
    .filter((d) => inRange(d.finishedAt ?? d.updatedAt))
    .map((d) => ({
      service: d.service,
      environment: d.environment,
      seq: d.seq,
      operation: d.kind,
      state: d.state,
      requestedBy: d.requestedBy,
      at: d.finishedAt ?? d.updatedAt,
    }));
  const alerts = (await store.listAudit({ action: ALERT_AUDIT_ACTION, limit: 500 }))
    .filter((a) => inRange(a.at))
    .map((a) => ({
      service: a.service ?? '',
      environment: a.environment ?? '',
      at: a.at,
      kind: a.outcome,
      text: typeof a.detail?.text === 'string' ? a.detail.text : a.outcome,
    }));
  const digest: Digest = { since, at, rows, deployments, alerts, error: input.error };
  await pacer.post(input.channel, digestCard(digest));
  await store.putState(DIGEST_STATE_KEY, { at: at.toISOString() }, at);
};
