/**
 * Concurrent identical reads share one: while a `describe` of the same services (same options) is in flight, a
 * second caller gets its result instead of making the same AWS calls again. A burst of `/status api` (an incident,
 * a whole team asking at once) then costs one DescribeServices/ListTasks/DescribeTasks, not one per person: the
 * account's ECS throttle is shared with every other tool (DESIGN.md §3.3), and the CPU those calls take (building
 * and signing requests) is CPU the acknowledgements of the other requests wait for (bench:ack). Nothing is cached
 * once a read has settled: the next caller reads afresh.
 */
import type { DescribeOptions, EcsReader, EcsServiceRef, ServiceLookup } from '../../ports.ts';

export const sharingConcurrentDescribes = (reader: EcsReader): EcsReader => {
  const inFlight = new Map<string, Promise<ServiceLookup[]>>();
  const shared: EcsReader = {
    describe(refs: readonly EcsServiceRef[], options?: DescribeOptions): Promise<ServiceLookup[]> {
      const key = JSON.stringify([refs, options ?? {}]);
      let read = inFlight.get(key);
      if (!read) {
        read = reader.describe(refs, options).finally(() => inFlight.delete(key));
        inFlight.set(key, read);
      }
      // Each caller gets its own copy: no caller can change what another one renders.
      return read.then((lookups) => structuredClone(lookups));
    },
  };
  if (reader.describeTasks) shared.describeTasks = reader.describeTasks.bind(reader);
  return shared;
};
