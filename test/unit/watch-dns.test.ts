/** The DNS rule (settled set → desired record, write or not) and its outcome: pure. */
import { describe, expect, it } from 'vitest';
import { type DnsMemory, dnsOutcome, planDns, settledIps } from '../../src/core/watch/dns.ts';
import type { IpMemory } from '../../src/core/watch/ips.ts';

const record = { zone: 'Z0ABC123', name: 'api.example.com', ttl: 60 };
const key = 'Z0ABC123/api.example.com';
const ipsMemory = (byTask: Record<string, string | null>, held = false): IpMemory => ({
  byTask,
  privateNotified: false,
  ...(held ? { held: { since: '2026-12-01T00:00:00.000Z', before: {}, cause: { kind: 'none' } } } : {}),
});
const now = new Date('2026-12-01T12:00:00Z');

describe('settledIps', () => {
  it('is the sorted, distinct set once a tick has a baseline and nothing is held', () => {
    const next = ipsMemory({ a: '203.0.113.10', b: '198.51.100.2', c: '203.0.113.9', d: null });

    expect(settledIps(ipsMemory({}), next)).toEqual(['198.51.100.2', '203.0.113.9', '203.0.113.10']);
  });

  it('is undefined on the first tick, while changes are held, and when no task has a public IP', () => {
    expect(settledIps(undefined, ipsMemory({ a: '203.0.113.10' }))).toBeUndefined();
    expect(settledIps(ipsMemory({}), ipsMemory({ a: '203.0.113.10' }, true))).toBeUndefined();
    expect(settledIps(ipsMemory({}), ipsMemory({ a: null }))).toBeUndefined();
  });
});

describe('planDns', () => {
  it('reads a record it does not remember, and writes only what differs from what it remembers', () => {
    const ips = ['203.0.113.10'];
    expect(planDns(undefined, [record], ips)).toEqual([{ kind: 'read-then-write', record, desired: { ips, ttl: 60 } }]);
    const memory: DnsMemory = { records: { [key]: { ips, ttl: 60 } } };
    expect(planDns(memory, [record], ips)).toEqual([]);
    expect(planDns(memory, [record], ['203.0.113.11'])).toEqual([
      { kind: 'write', record, desired: { ips: ['203.0.113.11'], ttl: 60 } },
    ]);
    expect(planDns(memory, [{ ...record, ttl: 300 }], ips)).toEqual([
      { kind: 'write', record: { ...record, ttl: 300 }, desired: { ips, ttl: 300 } },
    ]);
  });
});

describe('dnsOutcome', () => {
  const desired = { ips: ['203.0.113.11'], ttl: 60 };

  it('remembers what was written and says it', () => {
    const outcome = dnsOutcome(undefined, [{ kind: 'updated', record, value: desired }], now);

    expect(outcome.memory).toEqual({ records: { [key]: desired } });
    expect(outcome.updates).toEqual([{ name: 'api.example.com', ips: ['203.0.113.11'] }]);
    expect(outcome.failures).toEqual([]);
  });

  it('remembers a record read equal to the IPs without saying anything', () => {
    const outcome = dnsOutcome(undefined, [{ kind: 'unchanged', record, value: desired }], now);

    expect(outcome.memory).toEqual({ records: { [key]: desired } });
    expect(outcome.updates).toEqual([]);
  });

  it('says a failure once, keeps the old value so the next tick tries again, and clears it on success', () => {
    const old: DnsMemory = { records: { [key]: { ips: ['203.0.113.10'], ttl: 60 } } };
    const failed = { kind: 'failed' as const, record, desired, reason: 'Throttling: Rate exceeded' };

    const first = dnsOutcome(old, [failed], now);
    expect(first.failures).toEqual([
      { kind: 'dns-failed', name: 'api.example.com', reason: 'Throttling: Rate exceeded', ips: ['203.0.113.11'] },
    ]);
    expect(first.memory.records).toEqual(old.records);
    expect(planDns(first.memory, [record], desired.ips)).toHaveLength(1);

    const second = dnsOutcome(first.memory, [failed], now);
    expect(second.failures).toEqual([]);

    const third = dnsOutcome(second.memory, [{ kind: 'updated', record, value: desired }], now);
    expect(third.memory).toEqual({ records: { [key]: desired } });
    expect(third.updates).toHaveLength(1);
  });

  it('remembers what a read found when the change after it failed, so the retry does not read again', () => {
    const failed = { kind: 'failed' as const, record, desired, reason: 'AccessDenied', read: null };
    const outcome = dnsOutcome(undefined, [failed], now);

    expect(outcome.memory.records).toEqual({ [key]: { ips: [], ttl: 0 } });
    expect(planDns(outcome.memory, [record], desired.ips)).toEqual([{ kind: 'write', record, desired }]);
  });
});
