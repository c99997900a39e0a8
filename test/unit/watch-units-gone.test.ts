import { describe, expect, it } from 'vitest';
import type { RuntimeSnapshot } from '../../src/core/runtime.ts';
import { unitsGoneSince } from '../../src/core/watch/health.ts';

/** A snapshot with `n` units, the even ones known by ref (an ECS task ARN), the odd ones by id only. */
const snapshotOf = (refs: readonly string[]): RuntimeSnapshot =>
  ({
    units: refs.map((ref, i) => (i % 2 === 0 ? { id: `id-${ref}`, ref } : { id: ref })),
  }) as unknown as RuntimeSnapshot;

describe('unitsGoneSince', () => {
  for (const size of [3, 32, 33, 200]) {
    it(`names the units the last tick saw that are gone, by ref else id (${size} units)`, () => {
      const refs = Array.from({ length: size }, (_, i) => `arn:task/${i}`);
      const now = refs.filter((_, i) => i % 3 !== 1).concat('arn:task/new');
      const gone = refs.filter((_, i) => i % 3 === 1);
      expect(unitsGoneSince({ taskArns: refs }, snapshotOf(now))).toEqual(gone);
      expect(unitsGoneSince({ taskArns: refs }, snapshotOf(refs))).toEqual([]);
      expect(unitsGoneSince({}, snapshotOf(now))).toEqual([]);
    });
  }
});
