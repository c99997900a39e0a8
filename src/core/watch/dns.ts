/**
 * DNS that follows public IPs, pure: for an ECS service whose `watch.publicIps.dns` names Route 53 A records, the
 * record each should hold (one value per task's public IP) once the IP set has settled, and whether it must be
 * written. The IP watch's own settling decides "settled" (src/core/watch/ips.ts holds changes while a rollout or a
 * replacement is in progress), so a rollout makes one change, not one per task.
 *
 * What was written (or read) is remembered in the watch memory: a steady state asks Route 53 nothing. A record not
 * remembered yet (first tick, new config) is read once and written only if it differs. A failed change alerts once,
 * is remembered as failing, and is tried again on every tick until it succeeds.
 *
 * The Route 53 calls are the DnsRecords port's (src/adapters/aws/route53.ts); src/jobs/dns.ts runs this between
 * evaluate and save.
 */
import { type DnsRecordConfig, dnsEnvironmentOf, type ServiceConfig } from '../../config/schema.ts';
import type { ResolvedTarget } from '../targets.ts';
import { type IpMemory, ipsOf } from './ips.ts';

/** A record to keep, normalised: zone id without "/hostedzone/", name in lower case without the final dot. */
export interface DnsRecordSpec {
  zone: string;
  name: string;
  ttl: number;
}

/** What an A record holds: its values (sorted as the IP watch sorts them) and TTL. */
export interface DnsValue {
  ips: string[];
  ttl: number;
}

export interface DnsMemory {
  /** By recordKey: what the record holds, as last written or read. Absent: not known, read before writing. */
  records: Record<string, DnsValue>;
  /** By recordKey: a change that failed and was alerted (said once), tried again on every tick. */
  failing?: Record<string, { since: string; reason: string }> | undefined;
}

/** One record's step this tick. */
export type DnsStep =
  /** Remembered and different: write it. */
  | { kind: 'write'; record: DnsRecordSpec; desired: DnsValue }
  /** Not remembered: read it, then write only if it differs. */
  | { kind: 'read-then-write'; record: DnsRecordSpec; desired: DnsValue };

/** What a step did. */
export type DnsResult =
  | { kind: 'updated'; record: DnsRecordSpec; value: DnsValue; before?: DnsValue | undefined }
  | { kind: 'unchanged'; record: DnsRecordSpec; value: DnsValue }
  /**
   * `read`: what the record held, when it was read before the change failed (null: no such record). `reason` is for
   * the channel (an AWS error's code and hint), `detail` the whole error, for the log.
   */
  | {
      kind: 'failed';
      record: DnsRecordSpec;
      desired: DnsValue;
      reason: string;
      detail?: string | undefined;
      read?: DnsValue | null | undefined;
    };

/** A record that does not exist, as remembered: no value, so any settled set differs from it. */
export const ABSENT: DnsValue = { ips: [], ttl: 0 };

/** An update said on its own (no IP alert this tick to say it in), or a failed change. */
export type DnsAlert =
  | { kind: 'dns-updated'; updates: DnsUpdate[] }
  | { kind: 'dns-failed'; name: string; reason: string; ips: string[] };

/** "DNS updated: name → IPs", as an IP alert says it. */
export interface DnsUpdate {
  name: string;
  ips: string[];
}

export interface DnsOutcome {
  memory: DnsMemory;
  /** Updates of this tick, for the IP alert (or a dns-updated alert when there is none). */
  updates: DnsUpdate[];
  /** Failures said for the first time. */
  failures: Extract<DnsAlert, { kind: 'dns-failed' }>[];
}

/** The cron expression of `watch.publicIps`, in either form. */
export const publicIpsSchedule = (watch: ServiceConfig['watch']): string | undefined => {
  const publicIps = watch?.publicIps;
  return typeof publicIps === 'string' ? publicIps : publicIps?.schedule;
};

export const normaliseRecord = (r: Pick<DnsRecordConfig, 'zone' | 'name' | 'ttl'>): DnsRecordSpec => ({
  zone: r.zone.replace(/^\/hostedzone\//, ''),
  name: r.name.toLowerCase().replace(/\.$/, ''),
  ttl: r.ttl,
});

/** The records that follow this service/environment's public IPs (the config checked the environments). */
export const dnsRecordsOf = (target: Pick<ResolvedTarget, 'serviceConfig' | 'environment'>): DnsRecordSpec[] => {
  const publicIps = target.serviceConfig.watch?.publicIps;
  if (publicIps === undefined || typeof publicIps === 'string' || publicIps.dns === undefined) return [];
  return [publicIps.dns]
    .flat()
    .filter((r) => dnsEnvironmentOf(target.serviceConfig, r) === target.environment)
    .map(normaliseRecord);
};

export const recordKey = (r: Pick<DnsRecordSpec, 'zone' | 'name'>): string => `${r.zone}/${r.name}`;

const sameValue = (a: DnsValue | undefined, b: DnsValue): boolean =>
  a !== undefined && a.ttl === b.ttl && a.ips.length === b.ips.length && a.ips.every((ip, i) => ip === b.ips[i]);

/**
 * The settled set of public IPs after this tick of the IP watch, or undefined while it is not settled: on the first
 * tick (a baseline, maybe in the middle of a rollout), while changes are held (a rollout or a replacement in
 * progress), or when no task has a public IP (an A record needs at least one value; it is left as it is).
 */
export const settledIps = (prev: IpMemory | undefined, next: IpMemory): string[] | undefined => {
  if (!prev || next.held) return undefined;
  const ips = ipsOf(next.byTask);
  return ips.length > 0 ? ips : undefined;
};

/** What to do for each record, given the settled IPs: nothing (steady state) for a record that already holds them. */
export const planDns = (memory: DnsMemory | undefined, records: readonly DnsRecordSpec[], ips: string[]): DnsStep[] =>
  records.flatMap((record): DnsStep[] => {
    const desired = { ips, ttl: record.ttl };
    const known = memory?.records[recordKey(record)];
    if (known === undefined) return [{ kind: 'read-then-write', record, desired }];
    return sameValue(known, desired) ? [] : [{ kind: 'write', record, desired }];
  });

/** After a read: whether the record must still be written. */
export const mustWrite = (current: DnsValue | undefined, desired: DnsValue): boolean => !sameValue(current, desired);

/** The memory after this tick's steps, and what to say: updates, and failures not said before. */
export const dnsOutcome = (memory: DnsMemory | undefined, results: readonly DnsResult[], now: Date): DnsOutcome => {
  const records = { ...memory?.records };
  const failing = { ...memory?.failing };
  const updates: DnsUpdate[] = [];
  const failures: DnsOutcome['failures'] = [];
  for (const result of results) {
    const key = recordKey(result.record);
    if (result.kind === 'failed') {
      // What a read found is known now: the next tick writes without reading again.
      if (result.read !== undefined) records[key] = result.read ?? ABSENT;
      if (!(key in failing)) {
        failing[key] = { since: now.toISOString(), reason: result.reason };
        failures.push({ kind: 'dns-failed', name: result.record.name, reason: result.reason, ips: result.desired.ips });
      }
      continue;
    }
    records[key] = result.value;
    delete failing[key];
    if (result.kind === 'updated') updates.push({ name: result.record.name, ips: result.value.ips });
  }
  return {
    memory: { records, ...(Object.keys(failing).length > 0 ? { failing } : {}) },
    updates,
    failures,
  };
};
