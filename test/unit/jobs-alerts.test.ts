import { describe, expect, it } from 'vitest';
import {
  degradedCard,
  digestCard,
  hostDegradedCard,
  ipChangedByDeploymentCard,
  ipChangedCard,
  privateSubnetCard,
  recoveredCard,
  stoppedGroupLine,
  watchFailingCard,
  watchRecoveredCard,
} from '../../src/slack/blocks/alerts.ts';
import { at } from '../support/builders.ts';

const api = { service: 'api', environment: 'production' };
const now = at('2026-11-21T12:00:00Z');

describe('alert cards (golden)', () => {
  it('renders a degraded service with grouped stopped tasks', async () => {
    const group = {
      reason: 'Essential container in task exited',
      count: 3,
      exampleTaskId: '0f5a1c2b3d4e5f60',
      exitCodes: [137],
    };
    const card = degradedCard({
      ...api,
      reasons: [stoppedGroupLine(group), '1 of 2 tasks running'],
      stoppedTasks: [group],
      desired: 2,
      running: 1,
      pending: 1,
      revision: 'api:42',
      at: now,
    });
    expect(card.text).toContain('3 tasks stopped: Essential container in task exited (exit 137)');
    await expect(card).toMatchFileSnapshot('golden/alert-degraded.json');
  });

  it('renders a recovery with how long it lasted', async () => {
    const card = recoveredCard({
      ...api,
      since: at('2026-11-21T11:45:00Z'),
      at: now,
      reasons: ['1 task stopped: Essential container in task exited (exit 137)'],
      desired: 2,
      running: 2,
    });
    expect(card.text).toBe('api · production recovered after 15m');
    await expect(card).toMatchFileSnapshot('golden/alert-recovered.json');
  });

  it('renders a degraded Docker-host service, naming its containers', async () => {
    const card = hostDegradedCard({
      service: 'web',
      environment: 'box',
      reasons: ['web-1 restarted 2 times (exit 137)', 'web-2 is unhealthy', '1 of 2 containers running'],
      running: 1,
      replicas: 2,
      imageTag: 'sha256:4f2a9c0d1e2b',
      host: 'ssh://ec2-user@203.0.113.10',
      at: now,
    });
    expect(card.text).toBe(
      'web · box is degraded: web-1 restarted 2 times (exit 137); web-2 is unhealthy; 1 of 2 containers running',
    );
    await expect(card).toMatchFileSnapshot('golden/alert-host-degraded.json');
  });

  it('renders the recovery of a Docker-host service', async () => {
    const card = recoveredCard({
      service: 'web',
      environment: 'box',
      since: at('2026-11-21T11:57:00Z'),
      at: now,
      reasons: ['web is unhealthy'],
      desired: 1,
      running: 1,
      unit: 'container',
    });
    expect(card.text).toBe('web · box recovered after 3m');
    await expect(card).toMatchFileSnapshot('golden/alert-host-recovered.json');
  });

  it('renders an IP change not caused by a deployment, with which task replaced which', async () => {
    const card = ipChangedCard({
      ...api,
      before: ['203.0.113.1', '203.0.113.2'],
      after: ['203.0.113.2', '203.0.113.3'],
      added: ['203.0.113.3'],
      removed: ['203.0.113.1'],
      replacements: [
        { fromTaskId: '0f5a1c2b3d4e5f60', fromIp: '203.0.113.1', toTaskId: '9e8d7c6b5a4f3e2d', toIp: '203.0.113.3' },
      ],
      cause: { kind: 'none' },
      at: now,
    });
    expect(card.text).toContain('added 203.0.113.3; removed 203.0.113.1');
    await expect(card).toMatchFileSnapshot('golden/alert-ip-changed.json');
  });

  it('renders the summary of IP changes held during a dockhand deployment', async () => {
    const card = ipChangedByDeploymentCard({
      ...api,
      before: ['203.0.113.1', '203.0.113.2'],
      after: ['203.0.113.7', '203.0.113.8'],
      added: ['203.0.113.7', '203.0.113.8'],
      removed: ['203.0.113.1', '203.0.113.2'],
      replacements: [],
      cause: { kind: 'dockhand', seq: 42, operation: 'deploy', requestedBy: 'U0REQUESTER' },
      since: at('2026-11-21T11:55:00Z'),
      at: now,
      stillInProgress: false,
    });
    expect(card.text).toContain('caused by deployment #42');
    await expect(card).toMatchFileSnapshot('golden/alert-ip-changed-by-deployment.json');
  });

  it('renders the one-time private-subnet notice', async () => {
    await expect(
      privateSubnetCard({ ...api, taskIds: ['0f5a1c2b3d4e5f60718293a4b5c6d7e8', '9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b'] }),
    ).toMatchFileSnapshot('golden/alert-private-subnet.json');
  });

  it('renders a failing watch', async () => {
    const card = watchFailingCard({
      ...api,
      reason: 'describe services api in cluster prod: AccessDeniedException: not authorized',
      failedTicks: 3,
      since: at('2026-11-21T11:57:00Z'),
    });
    expect(card.text).toBe(
      'watch for api · production is failing: describe services api in cluster prod: AccessDeniedException: not authorized',
    );
    await expect(card).toMatchFileSnapshot('golden/alert-watch-failing.json');
  });

  it('renders a watch working again', async () => {
    await expect(
      watchRecoveredCard({ ...api, failedTicks: 5, since: at('2026-11-21T11:55:00Z'), at: now }),
    ).toMatchFileSnapshot('golden/alert-watch-recovered.json');
  });

  it('renders the digest of every service, deployments and alerts', async () => {
    const card = digestCard({
      since: at('2026-11-20T09:00:00Z'),
      at: at('2026-11-21T09:00:00Z'),
      rows: [
        {
          ...api,
          kind: 'found',
          revision: 'api:42',
          imageTag: '3f2a1bc',
          running: 2,
          desired: 2,
          health: 'healthy',
          reasons: [],
        },
        {
          service: 'api',
          environment: 'staging',
          kind: 'found',
          revision: 'api:43',
          imageTag: 'sha256:4f2a9c0d1e2b',
          running: 1,
          desired: 2,
          health: 'degraded',
          reasons: ['1 of 2 tasks running'],
        },
        {
          service: 'worker',
          environment: 'production',
          kind: 'missing',
          note: 'service worker not found in cluster prod',
        },
        { service: 'web', environment: 'box', kind: 'unsupported', note: 'Docker host: not read by this process' },
      ],
      deployments: [
        {
          ...api,
          seq: 42,
          operation: 'deploy',
          state: 'succeeded',
          requestedBy: 'U0REQUESTER',
          at: at('2026-11-20T15:00:00Z'),
        },
      ],
      alerts: [
        {
          service: 'api',
          environment: 'staging',
          at: at('2026-11-20T16:00:00Z'),
          kind: 'degraded',
          text: 'api · staging is degraded: 1 of 2 tasks running',
        },
      ],
    });
    expect(card.text).toBe('Daily digest: 4 services (1 healthy, 1 degraded, 2 unknown), 1 deployment, 1 alert');
    await expect(card).toMatchFileSnapshot('golden/alert-digest.json');
  });

  it('renders Docker-host services in the digest', async () => {
    const card = digestCard({
      since: at('2026-11-20T09:00:00Z'),
      at: at('2026-11-21T09:00:00Z'),
      rows: [
        {
          service: 'web',
          environment: 'box',
          kind: 'found',
          host: 'ssh://ec2-user@203.0.113.10',
          imageTag: 'sha256:4f2a9c0d1e2b',
          running: 1,
          desired: 2,
          health: 'degraded',
          reasons: ['1 of 2 containers running'],
        },
        {
          service: 'blog',
          environment: 'box',
          kind: 'found',
          host: 'unix:///var/run/docker.sock',
          running: 0,
          desired: 1,
          health: 'down',
          reasons: ['0 of 1 containers running'],
        },
        {
          service: 'shop',
          environment: 'box',
          kind: 'missing',
          note: 'cannot reach the Docker engine at ssh://ec2-user@203.0.113.11: connect ETIMEDOUT',
        },
      ],
      deployments: [],
      alerts: [],
    });
    expect(card.text).toBe('Daily digest: 3 services (1 degraded, 1 down, 1 unknown), 0 deployments, 0 alerts');
    await expect(card).toMatchFileSnapshot('golden/alert-digest-docker-hosts.json');
  });
});

describe('alert text from outside cannot notify or link', () => {
  const hostile = '<!channel> wake up <@U123> see <https://evil.example|the runbook>';
  const escaped = '&lt;!channel&gt; wake up &lt;@U123&gt; see &lt;https://evil.example|the runbook&gt;';

  it('escapes a task stop reason in the fallback text, as in the blocks', () => {
    const card = degradedCard({
      ...api,
      reasons: [stoppedGroupLine({ reason: hostile, count: 1, exampleTaskId: 'abc', exitCodes: [] })],
      stoppedTasks: [],
      desired: 2,
      running: 1,
      pending: 0,
      revision: 'api:42',
      at: now,
    });
    expect(card.text).toBe(`api · production is degraded: 1 task stopped: ${escaped}`);
    expect(JSON.stringify(card)).not.toContain('<!channel>');
  });

  it('escapes reasons, IPs and causes in every alert’s fallback text', () => {
    const texts = [
      hostDegradedCard({ ...api, reasons: [hostile], running: 0, replicas: 1, host: 'ssh://box', at: now }).text,
      watchFailingCard({ ...api, reason: hostile, failedTicks: 3, since: now }).text,
      ipChangedCard({
        ...api,
        before: [],
        after: [hostile],
        added: [hostile],
        removed: [],
        replacements: [],
        cause: { kind: 'ecs', deploymentId: hostile, revision: 'api:3' },
        at: now,
      }).text,
    ];
    for (const text of texts) {
      expect(text).toContain(escaped);
      expect(text).not.toContain('<!channel>');
    }
  });

  it('shows a posted alert in the digest escaped once, not twice', () => {
    const posted = watchFailingCard({ ...api, reason: `${hostile} & more`, failedTicks: 3, since: now }).text;
    const card = digestCard({
      since: at('2026-11-20T09:00:00Z'),
      at: now,
      rows: [],
      deployments: [],
      alerts: [{ ...api, at: now, kind: 'watch-failing', text: posted }],
    });
    const json = JSON.stringify(card);
    expect(json).toContain(`${escaped} &amp; more`);
    expect(json).not.toContain('&amp;lt;');
  });
});
