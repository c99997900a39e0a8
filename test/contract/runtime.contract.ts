/**
 * What every Runtime (src/core/runtime.ts) must do, whatever runs the service: one suite, run by one test file per
 * runtime against its real parts (ECS over the fake AWS over HTTP, a Docker host over the real engine). A new
 * runtime passes this suite before the core may use it.
 */
import { expect, it } from 'vitest';
import {
  type AppliedChange,
  type ApplyContext,
  describeTarget,
  type Runtime,
  type RuntimeDetail,
  type Runtimes,
} from '../../src/core/runtime.ts';
import type { ResolvedTarget } from '../../src/core/targets.ts';
import type { RolloutProgress } from '../../src/ports.ts';

export interface RuntimeFixture {
  runtime: Runtime;
  kind: RuntimeDetail['kind'];
  /** A new service that runs one unit of the first image (so tests do not share state). */
  start(): Promise<ResolvedTarget>;
  /** A target the runtime cannot find or reach. */
  missing(): ResolvedTarget;
  /** A second image to deploy. */
  nextImage: string;
  /** Lines the service's units have logged: `grep` matches `matching` and not `other`. */
  logged(target: ResolvedTarget): Promise<{ grep: string; matching: string; other: string }>;
  /** What every `apply` of the suite is given besides its operation id (pull credentials…). */
  applyContext?: Omit<ApplyContext, 'operationId'>;
  /** Progress looks before a rollout counts as stuck, and the pause between them. */
  maxPolls?: number;
  pollMs?: number;
}

const runtimesOf = (runtime: Runtime): Runtimes => ({ for: () => runtime });

/** Registers the contract's cases in the caller's `describe`; `fixture` is read when each case runs. */
export const runtimeContract = (fixture: () => RuntimeFixture): void => {
  const follow = async (target: ResolvedTarget, applied: AppliedChange): Promise<RolloutProgress> => {
    const { runtime, maxPolls = 60, pollMs = 0 } = fixture();
    for (let polls = 0; polls < maxPolls; polls++) {
      const progress = await runtime.progress(target, applied);
      if (progress.outcome !== 'in_progress') return progress;
      await new Promise((r) => setTimeout(r, pollMs));
    }
    throw new Error(`the change did not finish in ${maxPolls} looks`);
  };
  const snapshot = (target: ResolvedTarget) => describeTarget(runtimesOf(fixture().runtime), target);

  it('describes a running service: what it runs, its units with their health, and its counts', async () => {
    const { runtime, kind } = fixture();
    const target = await fixture().start();
    const s = await snapshot(target);
    expect(s).toMatchObject({ service: target.service, environment: target.environment, desired: 1, running: 1 });
    expect(s.revision).toEqual(expect.any(String));
    expect(s.detail.kind).toBe(kind);
    expect(s.units).toHaveLength(1);
    expect(s.units[0]?.revision).toEqual(expect.any(String));
    expect(['HEALTHY', 'UNHEALTHY', 'UNKNOWN']).toContain(s.units[0]?.health);
    // Many targets at once come back in the order asked, a missing one said so, not thrown.
    const missing = fixture().missing();
    const lookups = await runtime.describe([missing, target]);
    expect(lookups.map((l) => [l.target.service, l.found])).toEqual([
      [missing.service, false],
      [target.service, true],
    ]);
    const [lost] = lookups;
    expect(lost?.found === false && lost.reason).toEqual(expect.stringMatching(/\S/));
  }, 120_000);

  it('plans a new image: what runs now and what would change, and changes nothing', async () => {
    const { runtime, nextImage } = fixture();
    const target = await fixture().start();
    const before = await snapshot(target);
    const plan = await runtime.plan(target, { kind: 'image', image: nextImage });
    expect(plan.current?.revision).toBe(before.revision);
    expect(plan.changes.map((c) => c.to)).toContain(nextImage);
    expect((await snapshot(target)).revision).toBe(before.revision);
  }, 120_000);

  it('applies a new image and follows it until it is completed: the new revision runs', async () => {
    const { runtime, nextImage } = fixture();
    const target = await fixture().start();
    const before = await snapshot(target);
    const applied = await runtime.apply(
      target,
      { kind: 'image', image: nextImage },
      { ...fixture().applyContext, operationId: 'dep_contract1' },
    );
    expect(applied.previous?.revision).toBe(before.revision);
    expect(applied.revision?.revision).not.toBe(before.revision);
    expect((await follow(target, applied)).outcome).toBe('completed');
    const after = await snapshot(target);
    expect(after.revision).toBe(applied.revision?.revision);
    expect(after.units.map((u) => u.revision)).toEqual([applied.revision?.revision]);
  }, 120_000);

  it('scales to two units and back to one', async () => {
    const { runtime } = fixture();
    const target = await fixture().start();
    const up = await runtime.apply(
      target,
      { kind: 'scale', count: 2 },
      { ...fixture().applyContext, operationId: 'dep_contract2' },
    );
    expect((await follow(target, up)).outcome).toBe('completed');
    const two = await snapshot(target);
    expect([two.desired, two.running, two.units.length]).toEqual([2, 2, 2]);
    const down = await runtime.apply(
      target,
      { kind: 'scale', count: 1 },
      { ...fixture().applyContext, operationId: 'dep_contract3' },
    );
    expect((await follow(target, down)).outcome).toBe('completed');
    const one = await snapshot(target);
    expect([one.desired, one.running, one.units.length]).toEqual([1, 1, 1]);
  }, 120_000);

  it('reads the log lines since a moment that contain a text, and only those', async () => {
    const { runtime } = fixture();
    const target = await fixture().start();
    const { grep, matching, other } = await fixture().logged(target);
    const since = new Date(Date.now() - 5 * 60_000);
    const logs = await runtime.logs(target, { since, grep, limit: 100 });
    if (!logs.found) throw new Error(`no logs found: ${JSON.stringify(logs)}`);
    const messages = logs.lines.map((l) => l.message);
    expect(messages.some((m) => m.includes(matching))).toBe(true);
    expect(messages.some((m) => m.includes(other))).toBe(false);
    expect(logs.lines.every((l) => l.at.getTime() >= since.getTime() - 1_000)).toBe(true);
  }, 120_000);

  it('rolls back to the revision that ran before a change', async () => {
    const { runtime, nextImage } = fixture();
    const target = await fixture().start();
    const applied = await runtime.apply(
      target,
      { kind: 'image', image: nextImage },
      { ...fixture().applyContext, operationId: 'dep_contract4' },
    );
    expect((await follow(target, applied)).outcome).toBe('completed');
    const previous = applied.previous;
    if (!previous) throw new Error('the change named no previous revision');
    // What it lists to return to: the revision now, and (where it keeps them) the one before among the others.
    const listed = await runtime.revisions(target, 100);
    expect(listed.current?.revision).toBe(applied.revision?.revision);
    if (listed.others) expect(listed.others.map((r) => r.revision)).toContain(previous.revision);
    const back = await runtime.apply(
      target,
      { kind: 'revision', to: previous },
      { ...fixture().applyContext, operationId: 'dep_contract5' },
    );
    expect((await follow(target, back)).outcome).toBe('completed');
    const after = await snapshot(target);
    expect(after.revision).toBe(previous.revision);
    expect(after.units.map((u) => u.revision)).toEqual([previous.revision]);
  }, 120_000);
};
