import { describe, expect, it } from 'vitest';
import { sameJson } from '../../src/jobs/outbox.ts';

const at = new Date('2026-11-21T12:00:00Z');
const byTask = { 'arn:task/1': '203.0.113.1', 'arn:task/2': null };

/** Pairs whose JSON is the same or not; sameJson must say what comparing the strings says. */
const pairs: [unknown, unknown][] = [
  [
    { a: 1, b: [1, 2] },
    { a: 1, b: [1, 2] },
  ],
  [{ a: 1, b: undefined }, { a: 1 }],
  [
    { b: undefined, a: 1 },
    { a: 1, c: undefined },
  ],
  [
    { a: 1, b: 2 },
    { b: 2, a: 1 },
  ],
  [{ a: 1 }, { a: 1, b: null }],
  [{ a: [undefined, 1] }, { a: [null, 1] }],
  [{ a: [() => 1] }, { a: [null] }],
  [{ a: () => 1 }, {}],
  [{ since: at }, { since: at.toISOString() }],
  [{ since: at }, { since: '2026-11-21T12:00:01.000Z' }],
  [{ n: Number.NaN }, { n: null }],
  [{ n: 0 }, { n: -0 }],
  [{ n: 1 }, { n: '1' }],
  [{ a: {} }, { a: [] }],
  [
    [1, 2],
    [1, 2, 3],
  ],
  [{ a: { b: { c: 'x' } } }, { a: { b: { c: 'y' } } }],
  [{ ips: { byTask, primary: 'd1' }, outbox: undefined }, { ips: { byTask: { ...byTask }, primary: 'd1' } }],
  [
    { ips: { byTask, primary: 'd1' } },
    { ips: { byTask: { 'arn:task/2': null, 'arn:task/1': '203.0.113.1' }, primary: 'd1' } },
  ],
  [{}, { a: undefined }],
  [{ a: undefined }, {}],
  [{ a: 1 }, {}],
  [{}, { a: 1 }],
  [null, {}],
  ['x', 'x'],
  [undefined, () => 1],
];

describe('sameJson', () => {
  for (const [i, [a, b]] of pairs.entries()) {
    it(`agrees with comparing JSON.stringify's strings (case ${i})`, () => {
      const expected = JSON.stringify(a) === JSON.stringify(b);
      expect(sameJson(a, b)).toBe(expected);
      expect(sameJson(b, a)).toBe(expected);
    });
  }
});
