import { describe, expect, it } from 'vitest';
import { InstanceIpResolver, type TaskOnInstance } from '../../src/adapters/aws/instance-ips.ts';
import type { KeyValueCache } from '../../src/ports.ts';

const task = (cluster: string, service: string, n: number): TaskOnInstance => ({
  taskArn: `arn:task/${cluster}/${service}/${n}`,
  scope: { cluster: `us-east-1/${cluster}`, service },
  cluster,
  containerInstanceArn: `arn:container-instance/${cluster}/1`,
});

/** Every task's address is in the store's cache: resolving makes no AWS call. */
const everyTaskStored: KeyValueCache = {
  cacheGet: async (_kind, keys) => new Map(keys.map((k) => [k, '{"ip":"203.0.113.10","privateIp":"10.0.0.5"}'])),
  cachePut: async () => {},
};

describe('InstanceIpResolver.retain', () => {
  it('forgets the tasks of the cluster (and services) asked that are no longer listed, and only those', async () => {
    const resolver = new InstanceIpResolver(
      () => {
        throw new Error('no AWS call expected');
      },
      { cache: everyTaskStored },
    );
    const tasks = [task('a', 'api', 1), task('a', 'api', 2), task('a', 'worker', 1), task('b', 'api', 1)];
    await resolver.resolve('us-east-1', tasks, 'test');
    expect(resolver.size).toBe(4);

    resolver.retain('us-east-1/a', new Set([tasks[0]?.taskArn as string]), new Set(['api']));
    expect(tasks.map((t) => resolver.peek(t.taskArn) !== undefined)).toEqual([true, false, true, true]);

    resolver.retain('us-east-1/a', new Set());
    expect(tasks.map((t) => resolver.peek(t.taskArn) !== undefined)).toEqual([false, false, false, true]);
  });
});
