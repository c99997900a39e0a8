import { describe, expect, it } from 'vitest';
import { sharingConcurrentDescribes } from '../../src/adapters/aws/shared-describes.ts';
import type { EcsReader, EcsServiceRef, ServiceLookup } from '../../src/ports.ts';
import { aSnapshot } from '../support/builders.ts';

/** An ECS reader whose describes stay in flight until `finish` is called; it counts them. */
const slowReader = () => {
  const calls: (readonly EcsServiceRef[])[] = [];
  const pending: (() => void)[] = [];
  let fail: Error | undefined;
  const reader: EcsReader = {
    describe: (refs) => {
      calls.push(refs);
      return new Promise<ServiceLookup[]>((resolve, reject) => {
        pending.push(() =>
          fail ? reject(fail) : resolve(refs.map((ref) => ({ ref, found: true, snapshot: aSnapshot() }))),
        );
      });
    },
  };
  return {
    reader,
    calls,
    finish: () => {
      for (const done of pending.splice(0)) done();
    },
    failWith: (error: Error) => {
      fail = error;
    },
  };
};

const api: EcsServiceRef = { cluster: 'prod', service: 'api' };
const web: EcsServiceRef = { cluster: 'prod', service: 'web' };

describe('a burst of identical ECS reads costs one read', () => {
  it('gives concurrent describes of the same services one AWS read, each caller its own copy', async () => {
    const slow = slowReader();
    const ecs = sharingConcurrentDescribes(slow.reader);

    const reads = Array.from({ length: 50 }, () => ecs.describe([api], { tasks: true, publicIps: true }));
    slow.finish();
    const results = await Promise.all(reads);

    expect(slow.calls).toHaveLength(1);
    expect(results[0]).toEqual(results[49]);
    expect(results[0]?.[0]).not.toBe(results[49]?.[0]);
  });

  it('reads again once the shared read has settled, and separately for other services or options', async () => {
    const slow = slowReader();
    const ecs = sharingConcurrentDescribes(slow.reader);

    const first = ecs.describe([api]);
    const other = ecs.describe([web]);
    const lighter = ecs.describe([api], { tasks: false });
    slow.finish();
    await Promise.all([first, other, lighter]);
    const later = ecs.describe([api]);
    slow.finish();
    await later;

    expect(slow.calls).toEqual([[api], [web], [api], [api]]);
  });

  it('hands a failure to every caller that shared the read, and the next caller tries again', async () => {
    const slow = slowReader();
    const ecs = sharingConcurrentDescribes(slow.reader);
    slow.failWith(new Error('ThrottlingException: Rate exceeded'));

    const reads = [ecs.describe([api]), ecs.describe([api])];
    slow.finish();
    const outcomes = await Promise.allSettled(reads);
    const retry = ecs.describe([api]);
    slow.finish();
    await retry.catch(() => undefined);

    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect(slow.calls).toHaveLength(2);
  });
});
