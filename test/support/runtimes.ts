/**
 * Runtimes for tests of the core and the commands: the real adapters (EcsRuntime, DockerRuntime) over the
 * hand-written fakes of the pieces below them, so a test gives only the part it reads (an EcsReader, a LogReader,
 * a FakeHost) and the core sees the same Runtime it sees in src/app.ts.
 */
import { EcsRuntime } from '../../src/adapters/aws/ecs-runtime.ts';
import { DockerRuntime } from '../../src/adapters/docker/docker-runtime.ts';
import { createRuntimes } from '../../src/adapters/runtimes.ts';
import type { AutoScaling, Runtimes } from '../../src/core/runtime.ts';
import type { Clock, DockerHostRuntime, EcsDeployer, EcsReader, LogReader, Store } from '../../src/ports.ts';
import { FakeClock, FakeEcs } from './deploy-fakes.ts';

/** A reader for tests that read no ECS service: every service is unknown. */
const noServices: EcsReader = {
  describe: async (refs) => refs.map((ref) => ({ ref, found: false as const, reason: 'not in this test' })),
};

/** A log reader for tests that read no logs. */
const noLogs: LogReader = {
  serviceLogs: async (target) => ({ found: false, container: target.container, logDriver: undefined }),
};

/** State kept in memory (the replica count of a /scale), for tests without a store. */
const memoryState = (): Pick<Store, 'getState' | 'putState'> => {
  const state = new Map<string, unknown>();
  return {
    getState: async <T>(key: string) => structuredClone(state.get(key)) as T | undefined,
    putState: async (key, value) => {
      state.set(key, structuredClone(value));
    },
  };
};

export const testRuntimes = (
  parts: {
    ecs?: EcsReader;
    deployer?: EcsDeployer;
    logs?: LogReader;
    host?: DockerHostRuntime;
    store?: Pick<Store, 'getState' | 'putState'>;
    clock?: Clock;
    defaultRegion?: string;
    autoScaling?: AutoScaling;
  } = {},
): Runtimes => {
  const clock = parts.clock ?? new FakeClock();
  return createRuntimes({
    ecs: new EcsRuntime({
      reader: parts.ecs ?? noServices,
      deployer: parts.deployer ?? new FakeEcs(),
      logs: parts.logs ?? noLogs,
      clock,
      defaultRegion: parts.defaultRegion ?? 'us-east-1',
      autoScaling: parts.autoScaling,
    }),
    ...(parts.host
      ? { docker: new DockerRuntime({ host: parts.host, store: parts.store ?? memoryState(), clock }) }
      : {}),
  });
};
