import { describe, expect, it } from 'vitest';
import { ecsRuntimeSnapshot } from '../../src/adapters/aws/ecs-runtime.ts';
import { dockerRuntimeSnapshot } from '../../src/adapters/docker/docker-runtime.ts';
import { hostTargetOf } from '../../src/adapters/docker/host-target.ts';
import type { RuntimeSnapshot } from '../../src/core/runtime.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { evaluateTarget, type WatchMemory } from '../../src/core/watch/evaluate.ts';
import { evaluateFailure, FAILING_AFTER_TICKS, type FailureMemory } from '../../src/core/watch/failure.ts';
import type { Observation } from '../../src/core/watch/observation.ts';
import type { DockerHostTarget, HostContainer, HostSnapshot, ServiceSnapshot } from '../../src/ports.ts';
import {
  alertCard,
  degradedCard,
  hostDegradedCard,
  ipChangedCard,
  recoveredCard,
  watchFailingCard,
} from '../../src/slack/blocks/alerts.ts';
import { aConfig, aSnapshot, aTask, at } from '../support/builders.ts';

const t0 = at('2026-11-21T12:00:00Z');
const later = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
const name = { service: 'api', environment: 'prod' };
const none: WatchMemory = {};

const aContainer = (overrides: Partial<HostContainer> = {}): HostContainer => ({
  id: 'c1',
  name: 'web',
  image: 'registry.local/acme/web:3f2a1bc',
  state: 'running',
  health: 'HEALTHY',
  startedAt: t0,
  restartCount: 0,
  labels: {},
  ports: [],
  ...overrides,
});
const aHost = (containers: HostContainer[]): HostSnapshot => ({ host: 'ssh://box', containers });

const observe = (snapshot: RuntimeSnapshot, watches = { health: true, ips: false }): Observation => ({
  watches,
  read: { ok: true, snapshot, stopped: [] },
  context: {},
});
const unread = (reason: string, watches = { health: true, ips: false }): Observation => ({
  watches,
  read: { ok: false, reason },
  context: {},
});
/** What the runtimes' describe gives the watch (src/adapters/*: the snapshot the Runtime port shares). */
const config = aConfig();
const production = resolveTarget(config, 'api', 'production');
const box = resolveTarget(config, 'web', 'box');
const ecs = (snapshot: ServiceSnapshot = aSnapshot()): RuntimeSnapshot => ecsRuntimeSnapshot(production, snapshot);
const docker = (host: HostSnapshot, replicas = 1): RuntimeSnapshot =>
  dockerRuntimeSnapshot(box, hostTargetOf(box) as DockerHostTarget, host, replicas);

describe('the failing-watch rule', () => {
  it('says "failing" once, on the third failed tick in a row, and "working again" once after', () => {
    let memory: FailureMemory | undefined;
    const said: string[] = [];
    for (let i = 0; i < FAILING_AFTER_TICKS + 2; i++) {
      const outcome = evaluateFailure(memory, 'AccessDenied', later(i));
      memory = outcome.memory;
      said.push(...outcome.alerts.map((a) => `${i}:${a.kind}`));
    }
    expect(said).toEqual([`${FAILING_AFTER_TICKS - 1}:watch-failing`]);
    expect(memory).toEqual({
      count: FAILING_AFTER_TICKS + 2,
      since: t0.toISOString(),
      reason: 'AccessDenied',
      alerted: true,
    });

    const back = evaluateFailure(memory, undefined, later(10));
    expect(back).toEqual({
      memory: undefined,
      alerts: [{ kind: 'watch-recovered', failedTicks: FAILING_AFTER_TICKS + 2, since: t0 }],
    });
  });

  it('says nothing about a blip shorter than that', () => {
    const once = evaluateFailure(undefined, 'throttled', t0);
    const twice = evaluateFailure(once.memory, 'throttled', later(1));
    expect([...once.alerts, ...twice.alerts]).toEqual([]);
    expect(evaluateFailure(twice.memory, undefined, later(2))).toEqual({ memory: undefined, alerts: [] });
  });
});

describe('evaluating one target, whatever runs it', () => {
  it('turns a degraded ECS service into a degraded alert with its tasks, as data', () => {
    const s = aSnapshot({ running: 1, tasks: [aTask()] });
    const { memory, alerts } = evaluateTarget(none, observe(ecs(s)), t0);
    expect(alerts).toEqual([
      {
        kind: 'degraded',
        reasons: ['1 of 2 tasks running'],
        stoppedTasks: [],
        runs: { unit: 'task', running: 1, desired: 2, pending: 0, revision: 'api:42' },
      },
    ]);
    expect(memory.health?.state).toBe('degraded');
    expect(memory.host).toBeUndefined();
  });

  it('turns a degraded Docker-host service into a degraded alert with its containers, as data', () => {
    const host = aHost([aContainer({ health: 'UNHEALTHY' })]);
    const { memory, alerts } = evaluateTarget(none, observe(docker(host)), t0);
    expect(alerts).toEqual([
      {
        kind: 'degraded',
        reasons: ['web is unhealthy'],
        stoppedTasks: [],
        runs: { unit: 'container', running: 1, desired: 1, imageTag: '3f2a1bc', host: 'ssh://box' },
      },
    ]);
    expect(memory.host?.state).toBe('degraded');
    expect(memory.health).toBeUndefined();
  });

  it('says recovered once the service is healthy again, and nothing while a state lasts', () => {
    const sick = observe(docker(aHost([aContainer({ health: 'UNHEALTHY' })])));
    const well = observe(docker(aHost([aContainer()])));
    const first = evaluateTarget(none, sick, t0);
    const second = evaluateTarget(first.memory, sick, later(1));
    const third = evaluateTarget(second.memory, well, later(5));
    expect(second.alerts).toEqual([]);
    expect(third.alerts).toEqual([
      {
        kind: 'recovered',
        since: t0,
        reasons: ['web is unhealthy'],
        runs: { unit: 'container', running: 1, desired: 1, imageTag: '3f2a1bc', host: 'ssh://box' },
      },
    ]);
  });

  it('keeps what the watches remembered while the target cannot be read, and counts the failed ticks', () => {
    const first = evaluateTarget(none, observe(ecs()), t0);
    const failed = evaluateTarget(first.memory, unread('AccessDenied'), later(1));
    expect(failed.alerts).toEqual([]);
    expect(failed.memory.health).toEqual(first.memory.health);
    expect(failed.memory.failure).toMatchObject({ count: 1, reason: 'AccessDenied', alerted: false });
    const back = evaluateTarget(failed.memory, observe(ecs()), later(2));
    expect(back.memory.failure).toBeUndefined();
  });

  it('runs the IP watch only when it is due, and only for a workload with public IPs of its own', () => {
    const before = aSnapshot();
    const after = aSnapshot({
      tasks: [aTask(), aTask({ id: 'b2', arn: 'arn:task/prod/b2', publicIp: '203.0.113.7' })],
    });
    const both = { health: true, ips: true };
    const first = evaluateTarget(none, observe(ecs(before), both), t0);
    expect(first.memory.ips).toBeDefined();
    const healthOnly = evaluateTarget(first.memory, observe(ecs(after)), later(1));
    expect(healthOnly.memory.ips).toEqual(first.memory.ips);
    const second = evaluateTarget(first.memory, observe(ecs(after), both), later(1));
    expect(second.alerts.map((a) => a.kind)).toEqual(['ip-changed']);

    const host = evaluateTarget(none, observe(docker(aHost([aContainer()])), both), t0);
    expect(host.memory.ips).toBeUndefined();
    expect(host.alerts).toEqual([]);
  });

  it('gives back every key of the memory in the order it had, so an unchanged state is not written again', () => {
    const first = evaluateTarget(none, observe(ecs(), { health: true, ips: true }), t0);
    const remembered: WatchMemory & { outbox?: unknown } = { ips: first.memory.ips, health: first.memory.health };
    const again = evaluateTarget({ ...remembered, outbox: undefined }, observe(ecs(), { health: true, ips: true }), t0);
    expect(Object.keys(again.memory)).toEqual(['ips', 'health', 'outbox', 'failure']);
    expect(JSON.stringify({ ...again.memory, outbox: undefined })).toBe(JSON.stringify(remembered));
  });
});

describe('rendering an alert', () => {
  it('renders each alert as the card of its kind, ECS tasks and Docker-host containers alike', () => {
    const ecsDegraded = evaluateTarget(none, observe(ecs(aSnapshot({ running: 1, tasks: [aTask()] }))), t0).alerts[0];
    const hostDegraded = evaluateTarget(none, observe(docker(aHost([]))), t0).alerts[0];
    if (!ecsDegraded || !hostDegraded) throw new Error('expected two alerts');
    expect(alertCard(name, ecsDegraded, t0)).toEqual(
      degradedCard({
        ...name,
        reasons: ['1 of 2 tasks running'],
        stoppedTasks: [],
        desired: 2,
        running: 1,
        pending: 0,
        revision: 'api:42',
        at: t0,
      }),
    );
    expect(alertCard(name, hostDegraded, t0)).toEqual(
      hostDegradedCard({
        ...name,
        reasons: ['0 of 1 containers running'],
        running: 0,
        replicas: 1,
        imageTag: undefined,
        host: 'ssh://box',
        at: t0,
      }),
    );
  });

  it('names the unit of a Docker-host recovery, and leaves the ECS one as it was', () => {
    const runs = { unit: 'container', running: 1, desired: 1, host: 'ssh://box' } as const;
    const card = alertCard(name, { kind: 'recovered', since: t0, reasons: ['web is unhealthy'], runs }, later(3));
    expect(card).toEqual(
      recoveredCard({
        ...name,
        since: t0,
        at: later(3),
        reasons: ['web is unhealthy'],
        desired: 1,
        running: 1,
        unit: 'container',
      }),
    );
    const tasks = { unit: 'task', running: 2, desired: 2, pending: 0, revision: 'api:42' } as const;
    expect(alertCard(name, { kind: 'recovered', since: t0, reasons: [], runs: tasks }, later(3))).toEqual(
      recoveredCard({ ...name, since: t0, at: later(3), reasons: [], desired: 2, running: 2 }),
    );
  });

  it('renders the IP and failing-watch alerts with their data', () => {
    const change = {
      before: ['198.51.100.9'],
      after: ['203.0.113.7'],
      added: ['203.0.113.7'],
      removed: ['198.51.100.9'],
      replacements: [],
    };
    expect(alertCard(name, { kind: 'ip-changed', cause: { kind: 'none' }, ...change }, t0)).toEqual(
      ipChangedCard({ ...name, cause: { kind: 'none' }, ...change, at: t0 }),
    );
    expect(
      alertCard(name, { kind: 'watch-failing', reason: 'AccessDenied', failedTicks: 3, since: t0 }, later(2)),
    ).toEqual(watchFailingCard({ ...name, reason: 'AccessDenied', failedTicks: 3, since: t0 }));
  });
});
