import { describe, expect, it } from 'vitest';
import { ecsRuntimeSnapshot } from '../../src/adapters/aws/ecs-runtime.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { ipsMessage } from '../../src/slack/blocks/operate.ts';
import { overviewCard, serviceStatusCard, withSnapshotAge } from '../../src/slack/blocks/status.ts';
import { aConfig, aDeployment, aSnapshot, aTask, at } from '../support/builders.ts';

const now = at('2026-11-21T12:00:00Z');
const config = aConfig();
const production = resolveTarget(config, 'api', 'production');

describe('status cards (golden)', () => {
  it('renders a healthy service', async () => {
    await expect(serviceStatusCard(production, aSnapshot(), now)).toMatchFileSnapshot('golden/status-healthy.json');
  });

  it('renders a rollout in progress with both deployments', async () => {
    const s = aSnapshot({
      pending: 1,
      deployments: [
        aDeployment({ id: 'ecs-svc/2', revision: 'api:43', rolloutState: 'IN_PROGRESS', running: 1, pending: 1 }),
        aDeployment({ status: 'ACTIVE' }),
      ],
    });
    await expect(serviceStatusCard(production, s, now)).toMatchFileSnapshot('golden/status-rolling-out.json');
  });

  it('renders a degraded service with its reasons and a private-subnet task', async () => {
    const s = aSnapshot({ running: 1, tasks: [aTask({ health: 'UNHEALTHY', publicIp: undefined })] });
    await expect(serviceStatusCard(production, s, now)).toMatchFileSnapshot('golden/status-degraded.json');
  });

  it('renders EC2-launch-type tasks at their instance IP and host ports, and one whose instance has no IP', async () => {
    const onInstance = {
      eniId: undefined,
      containerInstanceArn: 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/1',
    };
    const s = aSnapshot({
      tasks: [
        aTask({ ...onInstance, privateIp: '10.1.0.5', publicIp: '203.0.113.5', hostPorts: [32768] }),
        aTask({
          ...onInstance,
          id: '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b',
          privateIp: '10.1.0.6',
          publicIp: undefined,
          hostPorts: [80, 443],
        }),
      ],
    });
    const card = serviceStatusCard(production, s, now);
    await expect(card).toMatchFileSnapshot('golden/status-ec2-launch-type.json');
    expect(card.text).toContain('IPs 203.0.113.5:32768');
  });

  it('renders the overview with found, missing and unsupported rows', async () => {
    const rows = [
      { target: production, kind: 'found' as const, snapshot: ecsRuntimeSnapshot(production, aSnapshot()) },
      {
        target: resolveTarget(config, 'api', 'staging'),
        kind: 'missing' as const,
        reason: 'service api not found in cluster staging',
      },
      { target: resolveTarget(config, 'web', 'box'), kind: 'unsupported' as const, reason: 'Docker host' },
    ];
    await expect(overviewCard(rows, now)).toMatchFileSnapshot('golden/status-overview.json');
  });
});

describe('status card limits', () => {
  it('stays within Block Kit limits with 500 tasks and hostile event text', () => {
    const tasks = Array.from({ length: 500 }, (_, i) => aTask({ id: `${i}`.padStart(32, '0') }));
    const events = Array.from({ length: 30 }, (_, i) => ({
      id: `${i}`,
      at: now,
      message: `<!channel> ${'x'.repeat(900)}`,
    }));
    const card = serviceStatusCard(production, aSnapshot({ tasks, events }), now);
    expect(card.blocks.length).toBeLessThanOrEqual(50);
    for (const block of card.blocks) {
      if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
    }
    const json = JSON.stringify(card);
    expect(json).not.toContain('<!channel>');
    expect(json).toContain('…and ');
  });

  it('puts the public IPs in the plain-text fallback', () => {
    expect(serviceStatusCard(production, aSnapshot(), now).text).toContain('203.0.113.17, 198.51.100.9');
  });

  it('escapes what ECS returns in the fallback text, which Slack parses and notifies from', () => {
    const s = aSnapshot({ tasks: [aTask({ publicIp: '<!here>' })] });
    const text = serviceStatusCard(
      production,
      { ...s, taskDefinition: { ...s.taskDefinition, family: '<@U1>' } },
      now,
    ).text;
    expect(text).toContain('&lt;@U1&gt;:42');
    expect(text).toContain('IPs &lt;!here&gt;');
    expect(text).not.toMatch(/[<>]/);
  });

  it('shows the <service> placeholder of the overview footer as text, not as a link', () => {
    const card = overviewCard([], now);
    expect(JSON.stringify(card.blocks.at(-1))).toContain('`/status &lt;service&gt;` for details');
  });

  it('says how old a shared snapshot is once it is 2 s old or more, with the time it was read', () => {
    const footer = (observedAt: Date | undefined) =>
      JSON.stringify(serviceStatusCard(production, aSnapshot({ observedAt }), now).blocks.at(-1));
    expect(footer(at('2026-11-21T11:59:56Z'))).toContain('As of <!date^1795262396^{date_short_pretty} {time}|');
    expect(footer(at('2026-11-21T11:59:56Z'))).toContain(', 4 s ago');
    expect(footer(at('2026-11-21T11:59:59Z'))).not.toContain('s ago');
    expect(footer(undefined)).not.toContain('s ago');
  });

  it('states the age of the oldest snapshot in the overview', () => {
    const rows = [
      {
        target: production,
        kind: 'found' as const,
        snapshot: ecsRuntimeSnapshot(production, aSnapshot({ observedAt: at('2026-11-21T11:59:58Z') })),
      },
      {
        target: resolveTarget(config, 'api', 'staging'),
        kind: 'found' as const,
        snapshot: ecsRuntimeSnapshot(production, aSnapshot({ observedAt: at('2026-11-21T11:59:53Z') })),
      },
    ];
    expect(JSON.stringify(overviewCard(rows, now).blocks.at(-1))).toContain(', 7 s ago');
  });
});

describe('/dockhand ips reply', () => {
  const addresses = {
    service: 'api',
    environment: 'production',
    platform: 'ecs' as const,
    tasks: [{ id: 't1', revision: 'api:3', lastStatus: 'RUNNING', publicIp: '203.0.113.7', privateIp: '10.0.0.1' }],
  };
  const reply = (observedAt: Date) => JSON.stringify(withSnapshotAge(ipsMessage(addresses), observedAt, now).blocks);

  it('says how old the addresses are when they come from a snapshot 2 s old or more', () => {
    expect(reply(at('2026-11-21T11:59:57Z'))).toContain(', 3 s ago');
    expect(reply(at('2026-11-21T11:59:59.500Z'))).not.toContain('s ago');
    expect(reply(at('2026-11-21T11:59:59.500Z'))).toBe(JSON.stringify(ipsMessage(addresses).blocks));
  });
});
