import { describe, expect, it } from 'vitest';
import { diffIps, ipsOf } from '../../src/core/watch/ips.ts';

/** The order ipsOf has always had: parts split at dots, compared as numbers, then as text. */
const reference = (a: string, b: string): number => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0 && !Number.isNaN(d)) return d;
  }
  return a.localeCompare(b);
};

const byTask = (ips: readonly (string | null)[]): Record<string, string | null> =>
  Object.fromEntries(ips.map((ip, i) => [`arn:task/${i}`, ip]));

/** A small deterministic generator: the same cases every run. */
const random = (seed: number) => () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

describe('the public IPs of a service, in order', () => {
  it('sorts IPv4 addresses by number, not by text', () => {
    expect(ipsOf(byTask(['10.0.0.10', '10.0.0.9', null, '9.255.0.1', '10.0.0.9']))).toEqual([
      '9.255.0.1',
      '10.0.0.9',
      '10.0.0.10',
    ]);
  });

  it('keeps the order it had for anything else: IPv6, host:port, odd text', () => {
    const next = random(42);
    const alphabet = ['1', '2', '9', '0', '.', '.', ':', 'a', 'f', ' ', '10', '255'];
    const draw = () =>
      Array.from({ length: 1 + Math.floor(next() * 8) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    for (let round = 0; round < 500; round++) {
      const ips = Array.from({ length: 6 }, draw);
      expect(ipsOf(byTask(ips))).toEqual([...new Set(ips)].sort(reference));
    }
  });

  it('says what changed only when the set of IPs did', () => {
    const before = byTask(['203.0.113.1', '203.0.113.2', null]);
    expect(diffIps(before, { ...before })).toBeUndefined();
    expect(diffIps(before, byTask([null, '203.0.113.2', '203.0.113.1']))).toBeUndefined();
    expect(diffIps(before, { ...before, 'arn:task/9': null })).toBeUndefined();
    expect(diffIps(before, { ...before, 'arn:task/9': '203.0.113.9' })?.added).toEqual(['203.0.113.9']);
    expect(diffIps({ ...before, 'arn:task/9': '203.0.113.9' }, before)?.removed).toEqual(['203.0.113.9']);
    expect(diffIps(before, byTask(['203.0.113.1', '203.0.113.3', null]))).toMatchObject({
      before: ['203.0.113.1', '203.0.113.2'],
      after: ['203.0.113.1', '203.0.113.3'],
      added: ['203.0.113.3'],
      removed: ['203.0.113.2'],
    });
  });
});
