import { describe, expect, it } from 'vitest';
import { createRuntimes } from '../../src/adapters/runtimes.ts';
import { configSchema } from '../../src/config/schema.ts';
import { describeTarget, describeTargets, type Runtime, type RuntimeLookup } from '../../src/core/runtime.ts';
import { allTargets, type ResolvedTarget } from '../../src/core/targets.ts';
import { DockhandError } from '../../src/errors.ts';

const config = configSchema.parse({
  defaults: { channel: '#deploys', region: 'us-east-1' },
  registries: { ecr: { type: 'ecr' } },
  services: {
    api: {
      source: { path: './api' },
      image: { registry: 'ecr', repository: 'acme/api' },
      environments: {
        box: { target: { type: 'docker', host: 'unix:///tmp/engine.sock', container: 'api' } },
        production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' } },
      },
    },
    web: {
      source: { path: './web' },
      image: { registry: 'ecr', repository: 'acme/web' },
      environments: { production: { target: { type: 'ecs', cluster: 'prod', service: 'web', container: 'app' } } },
    },
  },
});
const [apiBox, apiProduction, webProduction] = allTargets(config) as [ResolvedTarget, ResolvedTarget, ResolvedTarget];

const notUsed = (): never => {
  throw new Error('not used in this test');
};

/** A runtime that only describes: it records what it was asked and answers with `answer`. */
const describingRuntime = (asked: string[][], answer: (target: ResolvedTarget) => RuntimeLookup): Runtime => ({
  label: 'a test runtime',
  describe: async (targets) => {
    asked.push(targets.map((t) => `${t.service}/${t.environment}`));
    return targets.map(answer);
  },
  plan: notUsed,
  apply: notUsed,
  progress: notUsed,
  revisions: notUsed,
  discard: notUsed,
  recover: notUsed,
  stoppedUnits: notUsed,
  logs: notUsed,
  recentLines: notUsed,
});

const found = (target: ResolvedTarget): RuntimeLookup => ({
  target,
  found: true,
  snapshot: {
    service: target.service,
    environment: target.environment,
    revision: 'r1',
    desired: 1,
    running: 1,
    units: [],
    rollouts: [],
    detail: { kind: 'docker', host: { host: 'h', containers: [] }, replicas: 1 },
  },
});

describe('the runtime factory and describeTargets', () => {
  it('asks each runtime once, for all of its targets, and answers in the order asked', async () => {
    const ecsAsked: string[][] = [];
    const dockerAsked: string[][] = [];
    const runtimes = createRuntimes({
      ecs: describingRuntime(ecsAsked, found),
      docker: describingRuntime(dockerAsked, found),
    });
    const lookups = await describeTargets(runtimes, [apiProduction, apiBox, webProduction]);
    expect(ecsAsked).toEqual([['api/production', 'web/production']]);
    expect(dockerAsked).toEqual([['api/box']]);
    expect(lookups.map((l) => `${l.target.service}/${l.target.environment}`)).toEqual([
      'api/production',
      'api/box',
      'web/production',
    ]);
  });

  it('marks a target whose runtime this process lacks as unsupported, and reads the others', async () => {
    const runtimes = createRuntimes({ ecs: describingRuntime([], found) });
    const lookups = await describeTargets(runtimes, [apiBox, apiProduction]);
    expect(lookups[0]).toMatchObject({
      found: false,
      unsupported: true,
      reason: 'Docker-host targets are not available in this process.',
    });
    expect(lookups[1]?.found).toBe(true);
    expect(() => runtimes.for(apiBox)).toThrow(DockhandError);
  });

  it('rethrows what a single read threw, and refuses a service the runtime does not know', async () => {
    const boom = new DockhandError('docker', 'cannot reach the engine at unix:///tmp/engine.sock');
    const failing = createRuntimes({
      docker: describingRuntime([], (target) => ({ target, found: false, reason: boom.message, error: boom })),
      ecs: describingRuntime([], (target) => ({ target, found: false, reason: 'MISSING' })),
    });
    await expect(describeTarget(failing, apiBox)).rejects.toBe(boom);
    await expect(describeTarget(failing, apiProduction)).rejects.toMatchObject({
      code: 'not_found',
      message: 'api (production): MISSING.',
    });
  });
});
