import type { RespondArguments, SlashCommand } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { withBoundary } from '../../commands/boundary.ts';
import { promoteCommand } from '../../commands/promote.ts';
import { configSchema } from '../../src/config/schema.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { Store } from '../../src/ports.ts';
import { deployHarness, FakeHost } from '../support/deploy-fakes.ts';
import { testRuntimes } from '../support/runtimes.ts';

/**
 * `/promote` through the real boundary, command and DeploymentService over a fake Docker host, a real SQLite store
 * and a fake clock (2026-11-21T12:00Z is a Saturday): `lab` (listed first) runs an image by digest; `box` has an
 * approval policy and weekday windows. A asks, B and C approve box.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const C = 'U0CAROL';
const DIGEST = `sha256:${'c'.repeat(64)}`;

const config = () =>
  configSchema.parse({
    defaults: { channel: '#deploys' },
    registries: { local: { type: 'registry', address: '127.0.0.1:5000', insecure: true } },
    approvals: { prod: { approvers: [B, C], required: 1 } },
    services: {
      web: {
        source: { path: './web' },
        image: { registry: 'local', repository: 'acme/web' },
        environments: {
          lab: { target: { type: 'docker', host: 'unix:///var/run/docker.sock', container: 'web-lab' } },
          box: {
            target: { type: 'docker', host: 'unix:///var/run/docker.sock', container: 'web' },
            approval: 'prod',
            windows: { timeZone: 'Europe/Berlin', open: [{ days: 'mon-fri', hours: '09:00-17:00' }] },
          },
        },
      },
    },
  });

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const harness = async () => {
  const host = new FakeHost();
  host.containers = [
    {
      id: 'c0',
      name: 'web-lab',
      image: `127.0.0.1:5000/acme/web@${DIGEST}`,
      state: 'running',
      health: 'HEALTHY',
      restartCount: 0,
      labels: {},
      ports: [],
    },
  ];
  const h = await deployHarness({ config: config(), host });
  store = h.store;
  const deps = {
    ...h.deps,
    runtimes: testRuntimes({ host, store: h.store, clock: h.clock }),
    metrics: createMetrics(),
    logger: createLogger('silent'),
    deployments: h.service,
    renderDryRun: h.deps.render,
  };
  const handler = withBoundary('/promote', deps, promoteCommand(deps));
  const run = async (text: string, user = A) => {
    const replies: RespondArguments[] = [];
    const push = (message: string | RespondArguments | undefined) => {
      if (message !== undefined) replies.push(typeof message === 'string' ? { text: message } : message);
    };
    const command = { text, user_id: user, channel_id: 'C0DEPLOYS', channel_name: 'deploys' } as SlashCommand;
    await handler({
      command,
      ack: async (response) => push(response),
      respond: async (message) => {
        push(message);
        return undefined as never;
      },
    });
    await h.settle();
    return { replies, text: replies.map((r) => JSON.stringify(r)).join('\n') };
  };
  const deployments = () => h.store.listDeployments({ service: 'web', limit: 20 });
  return { ...h, host, run, deployments };
};

describe('/promote as a command', () => {
  it('promotes from the environment listed before the target when none is named', async () => {
    const h = await harness();
    h.clock.advance(2 * 86_400_000 - 3 * 3_600_000 + 60_000); // Monday 09:01 Berlin
    await h.run('web to box');
    const [deployment] = await h.deployments();
    expect(deployment).toMatchObject({
      kind: 'deploy',
      environment: 'box',
      state: 'awaiting_approval',
      request: { type: 'promote', from: 'lab', digest: DIGEST },
    });
    await h.service.approve(deployment?.id ?? '', B);
    await h.settle();
    expect((await h.deployments())[0]?.state).toBe('succeeded');
    expect(h.host.deploys.map((d) => [d.target.container, d.image])).toEqual([
      ['web', `127.0.0.1:5000/acme/web@${DIGEST}`],
    ]);
  });

  it('is refused outside the target’s windows, privately, starting nothing', async () => {
    const h = await harness();
    const { replies, text } = await h.run('web from lab to box');
    expect(replies.map((r) => r.response_type)).toEqual(['ephemeral']);
    expect(text).toContain('`box` is outside its deploy windows');
    expect(await h.deployments()).toEqual([]);
    expect(h.host.deploys).toEqual([]);
  });

  it('breaks the glass with --emergency: one more approval, marked in the request and the audit', async () => {
    const h = await harness();
    await h.run('web to box --emergency checkout is down');
    const [deployment] = await h.deployments();
    expect(deployment?.request).toEqual({
      type: 'promote',
      from: 'lab',
      digest: DIGEST,
      emergency: 'checkout is down',
      emergencyCause: 'window',
    });
    expect(h.notifier.last().view?.approvalPolicy).toEqual({ required: 2, approvers: [B, C] });
    const audit = await h.store.listAudit({ action: 'deployment.emergency' });
    expect(audit.map((e) => e.subject)).toEqual([deployment?.id]);
  });

  it('shows a dry run to the requester alone and records nothing', async () => {
    const h = await harness();
    const { replies } = await h.run('web to box --dry-run');
    expect(replies.at(-1)?.response_type).toBe('ephemeral');
    expect(JSON.stringify(replies.at(-1))).toContain(DIGEST);
    expect(await h.deployments()).toEqual([]);
    expect(h.host.deploys).toEqual([]);
  });

  it.each([
    ['web to lab', '`lab` is the first environment of `web`'],
    ['web from box to box', '`box` is both the source and the target'],
    ['web to production', '`web` has no environment `production`'],
    ['api to box', 'There is no service `api`'],
  ])('refuses “%s” privately, recording nothing', async (text, message) => {
    const h = await harness();
    const result = await h.run(text);
    expect(result.replies.map((r) => r.response_type)).toEqual(['ephemeral']);
    expect(result.text).toContain(message);
    expect(await h.deployments()).toEqual([]);
  });
});
