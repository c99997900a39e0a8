/** /scale and auto scaling: the grammar of bounds, the rules (config bounds, who owns the count), the words, cards. */
import { describe, expect, it } from 'vitest';
import { parseScale } from '../../src/core/grammar.ts';
import {
  autoScalingDetail,
  boundsRequest,
  checkBoundsRequest,
  checkCountNotAutoScaled,
  suggestedBounds,
} from '../../src/core/operate/autoscaling.ts';
import { toHistoryEntry } from '../../src/core/operate/history.ts';
import type { AutoScaling, AutoScalingDetail, ScalingBounds } from '../../src/core/runtime.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { KIND_OF_REQUEST, parseRequest, requestSchema, type ScaleBounds } from '../../src/domain/deployment.ts';
import { approvalPolicyFor, Refusal } from '../../src/domain/policy.ts';
import { AwsError, DockhandError, UsageError } from '../../src/errors.ts';
import { autoScalingBlocks, withAutoScaling } from '../../src/slack/blocks/autoscaling.ts';
import { commandFor, deploymentCard } from '../../src/slack/blocks/deploy.ts';
import { historyLine } from '../../src/slack/blocks/operate.ts';
import { denialText } from '../../src/slack/blocks/refusals.ts';
import { aConfig, aSnapshot, at } from '../support/builders.ts';
import { aDeploymentView } from '../support/deploy-builders.ts';
import { deployConfig, deployHarness, FakeHost } from '../support/deploy-fakes.ts';
import { testRuntimes } from '../support/runtimes.ts';

const config = aConfig();
// production allows 2..12 tasks (aConfig), staging the default 1..10.
const production = resolveTarget(config, 'api', 'production');
const onHost = resolveTarget(config, 'web', 'box');

/** An auto scaler with these bounds (undefined: nothing auto scales the service); records what it is asked. */
const scaler = (bounds: ScalingBounds | undefined, detail?: Partial<AutoScalingDetail>) => {
  const asked: string[] = [];
  const autoScaling: AutoScaling = {
    bounds: async (t) => {
      asked.push(`bounds ${t.service}/${t.environment}`);
      return bounds;
    },
    detail: async (t, n) => {
      asked.push(`detail ${t.service}/${t.environment} ${n}`);
      return bounds ? { ...bounds, policies: [], activities: [], ...detail } : undefined;
    },
    setBounds: async (_t, b) => {
      asked.push(`set ${b.min}..${b.max}`);
    },
  };
  return { autoScaling, asked };
};

const runtimesWith = (bounds: ScalingBounds | undefined, desired = 5) => {
  const { autoScaling, asked } = scaler(bounds);
  const runtimes = testRuntimes({
    autoScaling,
    host: new FakeHost(),
    ecs: {
      describe: async (refs) =>
        refs.map((ref) => {
          asked.push('describe service');
          return { ref, found: true as const, snapshot: aSnapshot({ desired }) };
        }),
    },
  });
  return { runtimes, asked };
};

const refusal = async (work: Promise<unknown>): Promise<Refusal> => {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Refusal)) throw new Error(`expected a Refusal, got ${String(error)}`);
  return error;
};

describe('/scale grammar: auto scaling bounds', () => {
  it('takes min..max instead of a count', () => {
    expect(parseScale('api 2..8 in production')).toEqual({
      service: 'api',
      env: 'production',
      bounds: { min: 2, max: 8 },
    });
    expect(parseScale('api 3..3 --emergency spike')).toEqual({
      service: 'api',
      env: undefined,
      bounds: { min: 3, max: 3 },
      emergency: 'spike',
    });
  });
  it.each(['api 8..2', 'api 2..', 'api ..8', 'api 2...8', 'api 2..8 4', 'api 4 2..8', 'api 2..x', 'api -1..4'])(
    'refuses %j',
    (text) => {
      expect(() => parseScale(text)).toThrow(UsageError);
    },
  );
  it('says the minimum comes first', () => {
    expect(() => parseScale('api 8..2')).toThrow(/minimum comes first/);
  });
});

describe('the bounds a config allows', () => {
  it('accepts bounds inside the environment’s scale: { min, max } and refuses either one outside', () => {
    expect(checkBoundsRequest(production, { min: 2, max: 12 })).toEqual({ min: 2, max: 12 });
    expect(() => checkBoundsRequest(production, { min: 1, max: 8 })).toThrow(/between 2 and 12 tasks; 1 is outside/);
    expect(() => checkBoundsRequest(production, { min: 2, max: 13 })).toThrow(DockhandError);
  });
  it('offers the asked count as the bound that moves, inside the config’s bounds', () => {
    expect(suggestedBounds(production, 10, { min: 2, max: 6 })).toEqual({ min: 2, max: 10 });
    expect(suggestedBounds(production, 4, { min: 2, max: 6 })).toEqual({ min: 4, max: 6 });
    expect(suggestedBounds(production, 3, { min: 5, max: 8 })).toEqual({ min: 3, max: 8 });
    expect(suggestedBounds(production, 12, { min: 2, max: 20 })).toEqual({ min: 12, max: 12 });
  });
});

describe('who owns the count', () => {
  it('refuses a count an auto scaler owns, naming bounds, count now and the command to use', async () => {
    const { runtimes, asked } = runtimesWith({ min: 2, max: 6 });
    const refused = await refusal(checkCountNotAutoScaled(runtimes, production, 8));
    expect(refused.denial).toEqual({
      kind: 'autoscaled',
      service: 'api',
      environment: 'production',
      min: 2,
      max: 6,
      desired: 5,
      count: 8,
      suggested: { min: 2, max: 8 },
    });
    expect(asked).toEqual(['bounds api/production', 'describe service']);
    const text = denialText(refused.denial as NonNullable<Refusal['denial']>);
    expect(text).toContain('min 2, max 6, desired 5 now');
    expect(text).toContain('`/scale api 2..8 in production`');
    expect(text).toContain('nothing was changed');
  });
  it('lets a count through where nothing auto scales the service, after one read', async () => {
    const { runtimes, asked } = runtimesWith(undefined);
    await checkCountNotAutoScaled(runtimes, production, 8);
    expect(asked).toEqual(['bounds api/production']);
  });
  it('lets a count through, warning, when the role may not read the auto scaler; other failures refuse', async () => {
    const failing = (name: string): AutoScaling => ({
      bounds: async () => {
        throw new AwsError('read the auto scaling of service/prod/api', { name, message: 'no' });
      },
      detail: async () => undefined,
      setBounds: async () => undefined,
    });
    const warned: string[] = [];
    await checkCountNotAutoScaled(testRuntimes({ autoScaling: failing('AccessDeniedException') }), production, 8, (e) =>
      warned.push(e.awsCode),
    );
    expect(warned).toEqual(['AccessDeniedException']);
    await expect(
      checkCountNotAutoScaled(testRuntimes({ autoScaling: failing('ThrottlingException') }), production, 8, (e) =>
        warned.push(e.awsCode),
      ),
    ).rejects.toThrow(/ThrottlingException/);
    expect(warned).toEqual(['AccessDeniedException']);
  });
  it('asks nothing of a runtime without an auto scaler (a Docker host)', async () => {
    const { runtimes, asked } = runtimesWith({ min: 1, max: 3 });
    await checkCountNotAutoScaled(runtimes, onHost, 2);
    expect(asked).toEqual([]);
  });
  it('makes a bounds request with the bounds it read as the old ones', async () => {
    const { runtimes, asked } = runtimesWith({ min: 2, max: 6 });
    expect(await boundsRequest(runtimes, production, { min: 3, max: 9 })).toEqual({
      type: 'scaleBounds',
      min: 3,
      max: 9,
      from: { min: 2, max: 6 },
    });
    expect(asked).toEqual(['bounds api/production']);
  });
  it('refuses bounds where nothing auto scales the service, and on a Docker host', async () => {
    const none = await refusal(boundsRequest(runtimesWith(undefined).runtimes, production, { min: 2, max: 8 }));
    expect(none.denial).toEqual({ kind: 'not_autoscaled', service: 'api', environment: 'production' });
    expect(denialText(none.denial as NonNullable<Refusal['denial']>)).toMatch(
      /has no auto scaling.*nothing was changed/,
    );
    const host = await refusal(boundsRequest(runtimesWith({ min: 1, max: 3 }).runtimes, onHost, { min: 2, max: 8 }));
    expect(host.denial).toMatchObject({ kind: 'not_autoscaled', runtime: expect.any(String) });
    expect(denialText(host.denial as NonNullable<Refusal['denial']>)).toMatch(/runs on .*no auto scaling to bound/);
  });
  it('reads the /status detail only where there is an auto scaler', async () => {
    const { runtimes, asked } = runtimesWith({ min: 2, max: 6 });
    expect(await autoScalingDetail(runtimes, production)).toMatchObject({ detail: { min: 2, max: 6 } });
    expect(await autoScalingDetail(runtimes, onHost)).toBeUndefined();
    expect(asked).toEqual(['detail api/production 3']);
  });
});

describe('/status when the auto scaling cannot be read', () => {
  it('says why on the card instead of failing /status: the error code and what to do, the rest in the log', async () => {
    const denied =
      'User: arn:aws:sts::123456789012:assumed-role/dockhand-task/9f8e7d is not authorized to perform: ' +
      'application-autoscaling:DescribeScalableTargets';
    const autoScaling: AutoScaling = {
      bounds: async () => undefined,
      detail: async () => {
        throw new AwsError(
          'read the auto scaling of service/prod/api',
          Object.assign(new Error(denied), { name: 'AccessDeniedException' }),
        );
      },
      setBounds: async () => undefined,
    };
    const logged: unknown[] = [];
    const status = await autoScalingDetail(testRuntimes({ autoScaling }), production, (e) => logged.push(e));
    expect(status).toEqual({ unreadable: expect.stringContaining('AccessDeniedException') });
    const card = withAutoScaling({ text: 'api', blocks: [] }, status, production);
    expect(JSON.stringify(card.blocks)).toContain('*Auto scaling* could not be read');
    expect(JSON.stringify(card.blocks)).toContain('IAM');
    // /status is posted in the channel: no account id, no role name.
    expect(JSON.stringify(card)).not.toContain('123456789012');
    expect(JSON.stringify(card)).not.toContain('dockhand-task');
    expect(logged).toEqual([expect.objectContaining({ message: expect.stringContaining(denied) })]);
    expect(withAutoScaling({ text: 'api', blocks: [] }, undefined, production).blocks).toEqual([]);
  });
});

describe('approval of new bounds: the rules of a scale', () => {
  const policies = aConfig({
    approvals: {
      prod: { approvers: ['U0APPROVER'], required: 1 },
      capacity: { approvers: ['U0CAPACITY'], required: 2 },
    },
    services: {
      api: {
        environments: {
          production: {
            target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' },
            approval: 'prod',
            scaleApproval: 'capacity',
          },
        },
      },
    },
  });
  const request: ScaleBounds = { type: 'scaleBounds', min: 2, max: 8, from: { min: 2, max: 6 } };
  const operation = { service: 'api', environment: 'production', kind: KIND_OF_REQUEST.scaleBounds };

  it('needs the scaleApproval policy, and one more approver with --emergency', () => {
    expect(KIND_OF_REQUEST.scaleBounds).toBe('scale');
    expect(approvalPolicyFor(policies, { ...operation, request })).toMatchObject({
      approvers: ['U0CAPACITY'],
      required: 2,
    });
    expect(approvalPolicyFor(policies, { ...operation, request: { ...request, emergency: 'spike' } })).toMatchObject({
      required: 3,
    });
  });
});

describe('the bounds request as stored', () => {
  it('round-trips through the parser and refuses a broken one', () => {
    const request = { type: 'scaleBounds', min: 3, max: 9, from: { min: 2, max: 6 }, emergency: 'spike' };
    expect(parseRequest('d1', 'scale', request)).toEqual(request);
    expect(() => parseRequest('d1', 'deploy', request)).toThrow(/scaleBounds request in a deploy record/);
    expect(requestSchema.safeParse({ ...request, min: 10 }).success).toBe(false);
    expect(requestSchema.safeParse({ ...request, from: undefined }).success).toBe(false);
  });
});

describe('cards (golden)', () => {
  const now = at('2026-11-20T10:05:00Z');
  const bounds = {
    kind: 'scale' as const,
    request: { type: 'scaleBounds' as const, min: 3, max: 9, from: { min: 2, max: 6 } },
  };

  it('asks to approve new bounds, naming the old ones', async () => {
    const card = deploymentCard(aDeploymentView({ ...bounds, state: 'awaiting_approval', facts: {} }), now);
    const text = JSON.stringify(card);
    expect(text).toContain('3..9');
    expect(text).toContain('were `2..6`');
    await expect(card).toMatchFileSnapshot('golden/deploy-scale-bounds-awaiting_approval.json');
  });
  it('says the bounds were set', async () => {
    const view = aDeploymentView({
      ...bounds,
      state: 'succeeded',
      facts: { rolloutStartedAt: '2026-11-20T10:04:00Z', durationMs: 60_000, rolloutDurationMs: 1_000 },
    });
    const card = deploymentCard(view, now);
    expect(JSON.stringify(card)).toMatch(/Scaled\* to `3\.\.9` tasks under auto scaling \(were `2\.\.6`\)/);
    await expect(card).toMatchFileSnapshot('golden/deploy-scale-bounds-succeeded.json');
  });
  it('names old and new bounds in /dockhand history', () => {
    const entry = toHistoryEntry({ ...aDeploymentView({ ...bounds, state: 'succeeded', facts: {} }) });
    expect(historyLine(entry)).toContain(
      'Scale to 3..9 tasks under auto scaling (were 2..6) · :large_green_circle: succeeded',
    );
  });
  it('asks again with the bounds', () => {
    expect(commandFor({ ...aDeploymentView(bounds), service: 'api', environment: 'production' })).toBe(
      '/scale api 3..9 in production',
    );
  });
  it('shows the bounds, policies and last activities on /status', async () => {
    const blocks = autoScalingBlocks(
      {
        min: 2,
        max: 6,
        policies: [
          { name: 'cpu50', type: 'TargetTrackingScaling', targetValue: 50, metric: 'ECSServiceAverageCPUUtilization' },
          { name: '<!here>', type: 'StepScaling' },
        ],
        activities: [
          {
            at: at('2026-11-20T10:01:00Z'),
            status: 'Successful',
            description: 'Setting desired count to 4.',
            cause: 'monitor alarm cpu-high in state ALARM triggered policy cpu50',
          },
        ],
      },
      { service: 'api', environment: 'production' },
    );
    const text = JSON.stringify(blocks);
    expect(text).toContain('between 2 and 6 tasks');
    expect(text).toContain('`/scale api &lt;min&gt;..&lt;max&gt; in production` changes these bounds');
    expect(text).toContain('keeps CPU utilization at 50');
    expect(text).not.toContain('<!here>');
    await expect(blocks).toMatchFileSnapshot('golden/status-autoscaling.json');
  });
});

describe('carrying an approved bounds change out', () => {
  /** An auto scaler whose scalable target the test can remove, as someone could between request and approval. */
  const removable = (start: ScalingBounds) => {
    const state: { bounds: ScalingBounds | undefined; set: ScalingBounds[] } = { bounds: start, set: [] };
    const autoScaling: AutoScaling = {
      bounds: async () => state.bounds,
      detail: async () => undefined,
      setBounds: async (_t, b) => {
        state.set.push(b);
        state.bounds = b;
      },
    };
    return { state, autoScaling };
  };
  const boundsTarget = resolveTarget(deployConfig(), 'api', 'production');
  const requestBounds = async (h: Awaited<ReturnType<typeof deployHarness>>) => {
    const outcome = await h.service.request({
      kind: 'scale',
      target: boundsTarget,
      user: 'U0ALICE',
      request: { type: 'scaleBounds', min: 3, max: 9, from: { min: 2, max: 6 } },
    });
    if (outcome.result !== 'started') throw new Error(`expected started, got ${outcome.result}`);
    await h.settle();
    return outcome.deployment;
  };

  it('sets the bounds when the scalable target is still there', async () => {
    const { state, autoScaling } = removable({ min: 2, max: 6 });
    const h = await deployHarness({ autoScaling });
    const deployment = await requestBounds(h);
    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    expect((await h.store.getDeployment(deployment.id))?.state).toBe('succeeded');
    expect(state.set).toEqual([{ min: 3, max: 9 }]);
  });

  it('fails in plain words, registering nothing, when the scalable target went away before approval', async () => {
    const { state, autoScaling } = removable({ min: 2, max: 6 });
    const h = await deployHarness({ autoScaling });
    const deployment = await requestBounds(h);
    state.bounds = undefined; // deregistered by the service's infrastructure code while the request waited
    await h.service.approve(deployment.id, 'U0BOB');
    await h.settle();
    const failed = await h.store.getDeployment(deployment.id);
    expect(failed?.state).toBe('failed');
    expect(state.set).toEqual([]);
    expect(failed?.reason).toContain('no auto scaling any more');
    expect(failed?.reason).toContain('nothing was changed');
    expect(failed?.reason).not.toContain('refused by policy');
    expect(await h.store.getLock({ service: 'api', environment: 'production' }, h.clock.now())).toBeUndefined();
  });
});

describe('a bounds change AWS refuses', () => {
  it('fails with the AWS error code on the card, AWS’s message (account, role) left to the log', async () => {
    const denied =
      'User: arn:aws:sts::123456789012:assumed-role/dockhand-task/9f8e7d is not authorized to perform: ' +
      'application-autoscaling:RegisterScalableTarget';
    const autoScaling: AutoScaling = {
      bounds: async () => ({ min: 2, max: 6 }),
      detail: async () => undefined,
      setBounds: async () => {
        throw new AwsError(
          'set the auto scaling bounds of service/prod/api',
          Object.assign(new Error(denied), { name: 'AccessDeniedException' }),
        );
      },
    };
    const h = await deployHarness({ autoScaling });
    const outcome = await h.service.request({
      kind: 'scale',
      target: resolveTarget(deployConfig(), 'api', 'production'),
      user: 'U0ALICE',
      request: { type: 'scaleBounds', min: 3, max: 9, from: { min: 2, max: 6 } },
    });
    if (outcome.result !== 'started') throw new Error(`expected started, got ${outcome.result}`);
    await h.settle();
    await h.service.approve(outcome.deployment.id, 'U0BOB');
    await h.settle();
    const failed = await h.store.getDeployment(outcome.deployment.id);
    expect(failed?.state).toBe('failed');
    expect(failed?.reason).toContain('AccessDeniedException');
    expect(failed?.reason).not.toMatch(/sts::|assumed-role|123456789012/);
    const card = JSON.stringify(h.notifier.last().view);
    expect(card).toContain('IAM');
    expect(card).not.toMatch(/sts::|assumed-role/);
  });
});

describe('a bounds change cut off by a restart', () => {
  /** A scale to 3..9 left in rolling_out by a process that died around its RegisterScalableTarget, lock held. */
  const interrupted = async (bounds: ScalingBounds | undefined | 'unreadable') => {
    const first = await deployHarness();
    const record = await first.store.createDeployment(
      {
        kind: 'scale',
        service: 'api',
        environment: 'production',
        state: 'rolling_out',
        requestedBy: 'U0ALICE',
        request: { type: 'scaleBounds', min: 3, max: 9, from: { min: 2, max: 6 } },
        facts: { rolloutStartedAt: first.clock.now().toISOString() },
      },
      first.clock.now(),
    );
    await first.store.acquireLock(
      { service: 'api', environment: 'production', owner: record.id, instance: 'old', holder: 'U0ALICE' },
      first.clock.now(),
    );
    const read: string[] = [];
    const autoScaling: AutoScaling = {
      bounds: async () => {
        read.push('bounds');
        if (bounds === 'unreadable') {
          throw new AwsError('read the auto scaling of service/prod/api', {
            name: 'ThrottlingException',
            message: 'x',
          });
        }
        return bounds;
      },
      detail: async () => undefined,
      setBounds: async () => {
        read.push('set');
      },
    };
    const second = await deployHarness({ store: first.store, autoScaling });
    await second.service.resume();
    await second.settle();
    const after = await second.store.getDeployment(record.id);
    expect(await second.store.listLocks(second.clock.now())).toEqual([]);
    return { after, read };
  };

  it('succeeds when the bounds read now are the ones it set', async () => {
    const { after, read } = await interrupted({ min: 3, max: 9 });
    expect(after?.state).toBe('succeeded');
    expect(read).toEqual(['bounds']);
  });

  it('fails saying the bounds change may not have been applied, and how to ask again, when they are not', async () => {
    const { after, read } = await interrupted({ min: 2, max: 6 });
    expect(after?.state).toBe('failed');
    expect(read).toEqual(['bounds']);
    expect(after?.reason).toMatch(/the bounds change may not have been applied/i);
    expect(after?.reason).toContain('2..6');
    expect(after?.reason).toContain('/scale api 3..9 in production');
    expect(after?.reason).not.toContain('new version');
  });

  it('fails the same way when the bounds cannot be read', async () => {
    const { after } = await interrupted('unreadable');
    expect(after?.state).toBe('failed');
    expect(after?.reason).toMatch(/the bounds change may not have been applied/i);
    expect(after?.reason).toContain('/scale api 3..9 in production');
    expect(after?.reason).not.toContain('new version');
  });
});
