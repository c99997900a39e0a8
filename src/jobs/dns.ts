/**
 * DNS that follows public IPs, the step of a watch tick between evaluate and save: for an ECS service/environment
 * whose `watch.publicIps.dns` names Route 53 records, once the IP watch sees a settled set (core/watch/dns.ts), each
 * record that does not hold it is written through the DnsRecords port, and the outcome joins the tick's alerts
 * (the IP alert says "DNS updated: name → IPs") and memory.
 *
 * Calls: none in a steady state (the memory says what each record holds); per settled change, one
 * ChangeResourceRecordSets per record; one ListResourceRecordSets per record the memory does not know yet.
 */
import {
  type DnsResult,
  type DnsStep,
  type DnsValue,
  dnsOutcome,
  dnsRecordsOf,
  mustWrite,
  planDns,
  settledIps,
} from '../core/watch/dns.ts';
import type { WatchAlert } from '../core/watch/evaluate.ts';
import type { Observation } from '../core/watch/observation.ts';
import { errorMessage, reasonForChannel } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { DnsRecords } from '../ports.ts';
import type { TargetState } from './outbox.ts';
import type { WatchedTarget } from './schedule.ts';

export interface DnsJob {
  watched: WatchedTarget;
  /** The IP watch ran this tick. */
  ips: boolean;
  observation: Observation;
  prev: TargetState;
  next: TargetState;
  alerts: WatchAlert[];
  at: Date;
}

const runStep = async (dns: DnsRecords, step: DnsStep, comment: string): Promise<DnsResult> => {
  const { record, desired } = step;
  let read: DnsValue | null | undefined;
  try {
    if (step.kind === 'read-then-write') {
      const current = await dns.readA(record.zone, record.name);
      if (!mustWrite(current, desired)) return { kind: 'unchanged', record, value: desired };
      read = current ?? null;
    }
    await dns.upsertA(record.zone, record.name, desired.ips, desired.ttl, comment);
    return { kind: 'updated', record, value: desired };
  } catch (error) {
    // The alert is posted in the channel: AWS's own message (naming the account and the role) goes to the log only.
    return { kind: 'failed', record, desired, reason: reasonForChannel(error), detail: errorMessage(error), read };
  }
};

/** The tick's memory and alerts, with the records brought in line with the settled IPs (unchanged when none is due). */
export const followDns = async (
  dns: DnsRecords | undefined,
  job: DnsJob,
  logger: Logger,
): Promise<{ memory: TargetState; alerts: WatchAlert[] }> => {
  const { watched, observation, prev, next, alerts, at } = job;
  const unchanged = { memory: next, alerts };
  if (!dns || !job.ips || !observation.read.ok || !next.ips) return unchanged;
  const records = dnsRecordsOf(watched.target);
  if (records.length === 0) return unchanged;
  const ips = settledIps(prev.ips, next.ips);
  if (ips === undefined) return unchanged;
  const steps = planDns(next.dns, records, ips);
  if (steps.length === 0) return unchanged;

  const { service, environment } = watched.target;
  const comment = `dockhand: public IPs of ${service}/${environment}`;
  const results: DnsResult[] = [];
  for (const step of steps) results.push(await runStep(dns, step, comment));
  const outcome = dnsOutcome(next.dns, results, at);
  for (const r of results) {
    const fields = { service, environment, record: r.record.name };
    if (r.kind === 'updated') logger.info({ ...fields, ips: r.value.ips }, 'watch: DNS updated');
    else if (r.kind === 'failed') {
      // Warned once, like the alert; the retries of every tick after it are debug lines.
      const first = outcome.failures.some((f) => f.name === r.record.name);
      logger[first ? 'warn' : 'debug']({ ...fields, reason: r.detail ?? r.reason }, 'watch: DNS update failed');
    }
  }
  const out: WatchAlert[] = [...alerts];
  if (outcome.updates.length > 0) {
    const i = out.findIndex((a) => a.kind === 'ip-changed' || a.kind === 'ip-changed-by-deployment');
    const ipAlert = out[i];
    if (ipAlert && (ipAlert.kind === 'ip-changed' || ipAlert.kind === 'ip-changed-by-deployment'))
      out[i] = { ...ipAlert, dns: outcome.updates };
    else out.push({ kind: 'dns-updated', updates: outcome.updates });
  }
  out.push(...outcome.failures);
  return { memory: { ...next, dns: outcome.memory }, alerts: out };
};
