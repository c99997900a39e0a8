import { describe, expect, it } from 'vitest';
import { forgettingChanges, SharedSnapshots } from '../../src/adapters/aws/shared-snapshots.ts';
import type {
  DescribeOptions,
  EcsDeployer,
  EcsReader,
  EcsServiceRef,
  ServiceLookup,
  ServiceSnapshot,
} from '../../src/ports.ts';
import { FakeClock, FakeEcs } from '../support/deploy-fakes.ts';

const api: EcsServiceRef = { cluster: 'prod', service: 'api' };
const worker: EcsServiceRef = { cluster: 'prod', service: 'worker' };

const snapshotOf = (ref: EcsServiceRef, read: number): ServiceSnapshot => ({
  ref,
  status: 'ACTIVE',
  taskDefinition: { arn: `arn:td/${ref.service}:${read}`, family: ref.service, revision: read, containers: [] },
  desired: 2,
  running: 2,
  pending: 0,
  deployments: [],
  events: [{ id: 'e1', at: new Date('2026-11-21T11:59:00Z'), message: 'steady' }],
  tasks: [],
});

/** An EcsReader whose reads are answered when the test says so; it records what each read asked for. */
class ControlledReader implements EcsReader {
  readonly reads: { refs: EcsServiceRef[]; options: DescribeOptions }[] = [];
  readonly #pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  missing = new Set<string>();

  describe(refs: readonly EcsServiceRef[], options: DescribeOptions = {}): Promise<ServiceLookup[]> {
    const read = this.reads.push({ refs: [...refs], options });
    return new Promise((resolve, reject) => {
      this.#pending.push({
        resolve: () =>
          resolve(
            refs.map((ref) =>
              this.missing.has(ref.service)
                ? { ref, found: false, reason: `service ${ref.service} not found` }
                : { ref, found: true, snapshot: snapshotOf(ref, read) },
            ),
          ),
        reject,
      });
    });
  }

  answerAll(): void {
    for (const p of this.#pending.splice(0)) p.resolve();
  }

  failAll(message: string): void {
    for (const p of this.#pending.splice(0)) p.reject(new Error(message));
  }
}

const setup = (maxAgeMs = 10_000) => {
  const reader = new ControlledReader();
  const clock = new FakeClock('2026-11-21T12:00:00Z');
  const shared = new SharedSnapshots({ reader, clock, maxAgeMs });
  return { reader, clock, shared };
};

const tick = () => new Promise((r) => setImmediate(r));

describe('SharedSnapshots', () => {
  it('resumes the callers sharing one read one per turn of the event loop, I/O polled between them', async () => {
    const { reader, shared } = setup();
    let answered = 0;
    const callers = Array.from({ length: 3 }, () => shared.describe([api]).then(() => answered++));
    await tick();
    expect(reader.reads).toHaveLength(1);
    reader.answerAll();
    const seen: number[] = [];
    for (let turn = 0; turn < 4; turn++) {
      await tick();
      seen.push(answered);
    }
    await Promise.all(callers);
    // all three at once would be [3, 3, 3, 3]
    expect(seen).toEqual([0, 1, 2, 3]);
  });

  it('keeps at most maxKept services once read, forgetting the least recently read first', async () => {
    const reader = new ControlledReader();
    const clock = new FakeClock('2026-11-21T12:00:00Z');
    const shared = new SharedSnapshots({ reader, clock, maxKept: 2 });
    const refs = ['a', 'b', 'c'].map((service) => ({ cluster: 'prod', service }));
    const first = shared.describe(refs);
    await tick();
    reader.answerAll();
    await first;
    await tick();
    // Three read at once: the first read of them (a) is forgotten, the two others still answer.
    const again = shared.describe([refs[1] as EcsServiceRef, refs[2] as EcsServiceRef]);
    await again;
    expect(reader.reads).toHaveLength(1);
    const forgotten = shared.describe([refs[0] as EcsServiceRef]);
    await tick();
    expect(reader.reads).toHaveLength(2);
    expect(reader.reads[1]?.refs.map((r) => r.service)).toEqual(['a']);
    reader.answerAll();
    await forgotten;
    await tick();
    // Reading a again made it the most recent: b is the one forgotten now.
    const kept = shared.describe([refs[0] as EcsServiceRef, refs[2] as EcsServiceRef]);
    await kept;
    expect(reader.reads).toHaveLength(2);
    const b = shared.describe([refs[1] as EcsServiceRef]);
    await tick();
    expect(reader.reads).toHaveLength(3);
    reader.answerAll();
    await b;
  });

  it('answers fifty requests that arrive during one read with that read', async () => {
    const { reader, shared } = setup();
    const requests = Array.from({ length: 50 }, () => shared.describe([api], { tasks: true, publicIps: true }));
    await tick();
    reader.answerAll();
    const answers = await Promise.all(requests);
    expect(reader.reads).toHaveLength(1);
    for (const [lookup] of answers) {
      expect(lookup?.found && lookup.snapshot.taskDefinition.revision).toBe(1);
    }
  });

  it('shares one frozen lookup: a caller cannot change what another sees', async () => {
    const { reader, shared } = setup();
    const both = Promise.all([shared.describe([api]), shared.describe([api])]);
    reader.answerAll();
    const [[a], [b]] = await both;
    if (!a?.found || !b?.found) throw new Error('not found');
    expect(() => a.snapshot.tasks.push({ ...a.snapshot.tasks[0], arn: 'x' } as never)).toThrow(TypeError);
    expect(() => {
      a.snapshot.running = 99;
    }).toThrow(TypeError);
    expect(() => {
      (a.snapshot.events[0] as { message: string }).message = 'changed';
    }).toThrow(TypeError);
    expect(() => {
      a.snapshot.taskDefinition.revision = 7;
    }).toThrow(TypeError);
    expect(b.snapshot.running).toBe(2);
    expect(b.snapshot.tasks).toEqual([]);
    expect(b.snapshot.events[0]?.message).toBe('steady');
    expect(b.snapshot.taskDefinition.revision).toBe(1);
  });

  it('serves a snapshot until it is older than the bound, stamped with when its read started', async () => {
    const { reader, clock, shared } = setup(10_000);
    const first = shared.describe([api]);
    reader.answerAll();
    await first;
    clock.advance(10_000);
    const [served] = await shared.describe([api]);
    expect(reader.reads).toHaveLength(1);
    expect(served?.found && served.snapshot.observedAt).toEqual(new Date('2026-11-21T12:00:00Z'));

    clock.advance(1);
    const again = shared.describe([api]);
    await tick();
    expect(reader.reads).toHaveLength(2);
    reader.answerAll();
    const [fresh] = await again;
    expect(fresh?.found && fresh.snapshot.observedAt).toEqual(new Date('2026-11-21T12:00:10.001Z'));
  });

  it('reads again for more than the snapshot holds (IPs after a tasks-only read), not for less', async () => {
    const { reader, shared } = setup();
    const overview = shared.describe([api], { tasks: true, publicIps: false });
    reader.answerAll();
    await overview;
    const withIps = shared.describe([api], { tasks: true, publicIps: true });
    await tick();
    expect(reader.reads).toHaveLength(2);
    expect(reader.reads[1]?.options).toEqual({ tasks: true, publicIps: true });
    reader.answerAll();
    await withIps;
    await shared.describe([api], { tasks: true, publicIps: false });
    await shared.describe([api], { tasks: false });
    expect(reader.reads).toHaveLength(2);
  });

  it('reads only the services it has no snapshot of, in one read', async () => {
    const { reader, shared } = setup();
    const one = shared.describe([api]);
    reader.answerAll();
    await one;
    const two = shared.describe([api, worker, worker]);
    await tick();
    expect(reader.reads.map((r) => r.refs.map((ref) => ref.service))).toEqual([['api'], ['worker']]);
    reader.answerAll();
    const answers = await two;
    expect(answers.map((l) => l.found && l.snapshot.ref.service)).toEqual(['api', 'worker', 'worker']);
  });

  it('gives every waiting caller the error of a failed read, and keeps nothing', async () => {
    const { reader, shared } = setup();
    const requests = [shared.describe([api]), shared.describe([api])];
    await tick();
    reader.failAll('ThrottlingException: Rate exceeded');
    for (const r of requests) await expect(r).rejects.toThrow('Rate exceeded');
    const retry = shared.describe([api]);
    await tick();
    expect(reader.reads).toHaveLength(2);
    reader.answerAll();
    await expect(retry).resolves.toHaveLength(1);
  });

  it('does not keep a service that was not found', async () => {
    const { reader, shared } = setup();
    reader.missing.add('api');
    const first = shared.describe([api]);
    reader.answerAll();
    expect((await first)[0]?.found).toBe(false);
    const second = shared.describe([api]);
    await tick();
    expect(reader.reads).toHaveLength(2);
    reader.answerAll();
    await second;
  });

  it('shares only reads in flight when the bound is 0', async () => {
    const { reader, clock, shared } = setup(0);
    const both = Promise.all([shared.describe([api]), shared.describe([api])]);
    reader.answerAll();
    await both;
    expect(reader.reads).toHaveLength(1);
    clock.advance(1);
    const later = shared.describe([api]);
    await tick();
    expect(reader.reads).toHaveLength(2);
    reader.answerAll();
    await later;
  });
});

describe('forgettingChanges (the deployer app.ts gives DeploymentService)', () => {
  const cached = async (prepare: (ecs: FakeEcs) => void = () => {}) => {
    const { reader, shared } = setup();
    const first = shared.describe([api]);
    reader.answerAll();
    await first;
    const ecs = new FakeEcs();
    prepare(ecs);
    const deployer = forgettingChanges<EcsDeployer>(ecs, shared);
    /** Whether the next /status reads ECS again. */
    const readsAgain = async () => {
      const before = reader.reads.length;
      const next = shared.describe([api]);
      await tick();
      reader.answerAll();
      await next;
      return reader.reads.length > before;
    };
    return { deployer, ecs, readsAgain };
  };
  const target = { ...api, container: 'app', region: undefined };

  it('makes /status read a service again once dockhand updated it', async () => {
    const { deployer, readsAgain } = await cached();
    await deployer.updateService(target, { desiredCount: 4 });
    expect(await readsAgain()).toBe(true);
  });

  it('keeps the snapshot while a rollout runs, and forgets it when the rollout ends', async () => {
    const { deployer, readsAgain } = await cached();
    expect((await deployer.rolloutProgress(target, 'ecs-svc/2')).outcome).toBe('in_progress');
    expect(await readsAgain()).toBe(false);
    expect((await deployer.rolloutProgress(target, 'ecs-svc/2')).outcome).toBe('completed');
    expect(await readsAgain()).toBe(true);
  });

  it('forgets the snapshot when an update fails, since ECS may have acted', async () => {
    const { readsAgain, deployer } = await cached((ecs) => {
      ecs.updateService = async () => {
        throw new Error('socket hang up');
      };
    });
    await expect(deployer.updateService(target, { desiredCount: 4 })).rejects.toThrow('socket hang up');
    expect(await readsAgain()).toBe(true);
  });

  it('passes every other call to the deployer itself, which keeps its own state', async () => {
    const { deployer, ecs, readsAgain } = await cached();
    await deployer.registerImage(target, 'acme/api:2');
    expect(ecs.registered).toEqual(['acme/api:2']);
    expect(await readsAgain()).toBe(false);
  });
});
