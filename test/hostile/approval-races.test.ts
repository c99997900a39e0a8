import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { createPrng } from '../support/fake-aws/prng.ts';
import { type StoredMessage, signedClient } from '../support/slack/index.ts';
import { A, B, C, CONFIG, type Hostile, hostileEnv, sleep, startHostile } from './harness.ts';

/**
 * Parallel clicks on one approval card, sent as signed block_actions to dockhand as a process: however many
 * approvers click at once, and whatever mix of Approve and Reject, exactly one decision is recorded and at most
 * one pipeline runs (one RegisterTaskDefinition, one UpdateService). DESIGN.md §3.1: approval is one conditional
 * update. Seeded; the figures are printed.
 */
const SEED = Number(process.env.DOCKHAND_HOSTILE_SEED ?? 0xc1_1c_5);
const CLICKS = 10;

describe('hostile: parallel Approve and Reject clicks on one card', () => {
  let h: Hostile;
  /** Requests `<service> image:<tag> to production`; the card with its buttons, as approvers see it, and its #. */
  const pendingCard = async (service: string, tag: string, seen: number) => {
    await h.client.slashCommand({ command: '/deploy', text: `${service} image:${tag} to production`, userId: A });
    const card = await h.card((m) => {
      const seq = Number(/^Deploy \S+ → production #(\d+)/.exec(m.text)?.[1]);
      return (
        m.text.startsWith(`Deploy ${service} → production #`) &&
        seq > seen &&
        JSON.stringify(m.blocks).includes('approval.approve')
      );
    });
    return { card, seq: Number(/#(\d+)/.exec(card.text)?.[1]) };
  };
  const deploymentOf = async (service: string, seq: number) =>
    h.withStore(async (store) => {
      const all = await store.listDeployments({ service, environment: 'production' });
      const found = all.find((d) => d.seq === seq);
      if (!found) throw new Error(`no deployment #${seq} of ${service}`);
      return found;
    });
  /** The deployment once it has reached a terminal state (polled in the store, bounded). */
  const settled = async (service: string, seq: number) => {
    for (let i = 0; i < 300; i++) {
      const d = await deploymentOf(service, seq);
      if (['succeeded', 'failed', 'rejected', 'cancelled', 'expired'].includes(d.state)) return d;
      await sleep(200);
    }
    throw new Error(`deployment #${seq} of ${service} did not settle`);
  };
  const decisions = async (id: string) =>
    (await h.withStore((s) => s.listAudit({ subject: id, limit: 100 })))
      .map((e) => e.action)
      .filter((a) => ['deployment.approved', 'deployment.rejected', 'deployment.cancelled'].includes(a));
  /** Pipelines run for `service` (RegisterTaskDefinition and UpdateService in the prod cluster). */
  const pipelinesOf = (service: string) => ({
    registered: h.aws
      .requestsFor('ECS.RegisterTaskDefinition')
      .filter((r) => (r.input as { family: string }).family === `${service}-prod` && !r.injected).length,
    updated: h.aws
      .requestsFor('ECS.UpdateService')
      .filter(
        (r) =>
          (r.input as { cluster: string; service: string }).cluster === 'prod' &&
          (r.input as { service: string }).service === service &&
          !r.injected,
      ).length,
  });
  /** Sends all clicks at once from the card as it was shown (later clicks land on a card already decided). */
  const clickAll = (card: StoredMessage, clicks: { actionId: string; userId: string }[]) => {
    const shown = structuredClone(card.blocks);
    return Promise.all(clicks.map((c) => h.client.clickButton({ message: card, blocks: shown, ...c })));
  };

  beforeAll(async () => {
    h = await startHostile();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('records one decision from parallel Reject clicks, and runs nothing', async () => {
    const { card, seq } = await pendingCard('api', '1.2.0', 0);
    await clickAll(
      card,
      Array.from({ length: CLICKS }, (_, i) => ({ actionId: 'approval.reject', userId: i % 2 === 0 ? B : C })),
    );
    await h.card((m) => m.text.startsWith(`Deploy api → production #${seq}`) && m.text.includes('rejected'));
    const deployment = await deploymentOf('api', seq);
    expect(await decisions(deployment.id)).toEqual(['deployment.rejected']);
    expect(pipelinesOf('api')).toEqual({ registered: 0, updated: 0 });
    expect(deployment.state).toBe('rejected');
  }, 60_000);

  // The two that roll out run side by side (on api, and on web and worker), each counting its own service's calls.
  it.concurrent('starts exactly one pipeline from 10 parallel Approve clicks by two approvers', async () => {
    const { card, seq } = await pendingCard('api', '1.1.0', 0);
    const acks = await clickAll(
      card,
      Array.from({ length: CLICKS }, (_, i) => ({ actionId: 'approval.approve', userId: i % 2 === 0 ? B : C })),
    );
    await h.card((m) => m.text.startsWith(`Deploy api → production #${seq}`) && m.text.includes('succeeded'));
    const deployment = await deploymentOf('api', seq);
    const decided = await decisions(deployment.id);
    const pipelines = pipelinesOf('api');
    console.log(
      `parallel approvals: ${CLICKS} clicks, ${decided.length} approved transition, ` +
        `${pipelines.registered} RegisterTaskDefinition, ${pipelines.updated} UpdateService`,
    );
    expect(acks.map((a) => a.status)).toEqual(Array(CLICKS).fill(200));
    expect(decided).toEqual(['deployment.approved']);
    expect(pipelines).toEqual({ registered: 1, updated: 1 });
    expect(deployment.state).toBe('succeeded');
  }, 60_000);

  it.concurrent('decides once for any seeded mix of Approve, Reject and the requester’s withdrawal', async () => {
    const prng = createPrng(SEED);
    // Two mixes at once, on two services: approve / reject / withdraw counts, shuffled with the PRNG.
    const mixes = [
      { service: 'worker', tag: '3.0.0', approves: 9, rejects: 1 },
      { service: 'web', tag: '2.0.0', approves: 3, rejects: 4 },
    ];
    const outcomes = await Promise.all(
      mixes.map(async ({ service, tag, approves, rejects }) => {
        const { card, seq } = await pendingCard(service, tag, 0);
        const clicks = Array.from({ length: CLICKS }, (_, i) => {
          const userId = prng.int(2) ? B : C;
          if (i < approves) return { actionId: 'approval.approve', userId };
          if (i < approves + rejects) return { actionId: 'approval.reject', userId };
          return { actionId: 'approval.reject', userId: A }; // the requester withdraws
        });
        for (let i = clicks.length - 1; i > 0; i--) {
          const j = prng.int(i + 1);
          [clicks[i], clicks[j]] = [clicks[j] as (typeof clicks)[number], clicks[i] as (typeof clicks)[number]];
        }
        await clickAll(card, clicks);
        const deployment = await settled(service, seq);
        return { service, deployment, decided: await decisions(deployment.id), pipelines: pipelinesOf(service) };
      }),
    );
    console.log(
      `approval mixes (seed ${SEED}): ${outcomes
        .map(
          (o) =>
            `${o.service} ${o.deployment.state} (${o.decided.length} decision, ${o.pipelines.updated} UpdateService)`,
        )
        .join('; ')}`,
    );
    for (const { deployment, decided, pipelines } of outcomes) {
      expect(decided).toHaveLength(1);
      if (deployment.state === 'succeeded') expect(pipelines).toEqual({ registered: 1, updated: 1 });
      else expect(pipelines).toEqual({ registered: 0, updated: 0 });
    }
  }, 90_000);
});

const POSTGRES_URL = process.env.DOCKHAND_TEST_POSTGRES_URL;

/**
 * With several replicas a click can land on any of them (README, "Several replicas"): ten Approve clicks split
 * across two dockhand processes sharing one Postgres still make one decision and one pipeline.
 */
describe.skipIf(!POSTGRES_URL)('hostile: parallel Approve clicks on two replicas sharing Postgres', () => {
  let h: Hostile;
  let second: DockhandProcess;
  const schema = `dockhand_hostile_${randomBytes(6).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    await admin(`CREATE SCHEMA ${schema}`);
    const base = POSTGRES_URL ?? '';
    const url = `${base}${base.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    h = await startHostile({ DOCKHAND_DATABASE_URL: url, DOCKHAND_INSTANCE_ID: 'hostile-replica-1' });
    second = await startDockhand({
      config: CONFIG,
      slackApiUrl: h.slack.apiUrl,
      awsEndpointUrl: h.awsUrl,
      env: hostileEnv({ DOCKHAND_DATABASE_URL: url, DOCKHAND_INSTANCE_ID: 'hostile-replica-2' }),
    });
  }, 60_000);

  afterAll(async () => {
    await second?.stop();
    if (second) removeDir(second.dir);
    await h?.close();
    await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  it('starts exactly one pipeline from 10 Approve clicks split across the replicas', async () => {
    const other = signedClient(h.slack, second.eventsUrl);
    await h.client.slashCommand({ command: '/deploy', text: 'api image:1.2.0 to production', userId: A });
    const card = await h.card(
      (m) => m.text.startsWith('Deploy api → production #1') && JSON.stringify(m.blocks).includes('approval.approve'),
    );
    h.aws.resetCalls();
    const shown = structuredClone(card.blocks);
    const acks = await Promise.all(
      Array.from({ length: CLICKS }, (_, i) =>
        (i % 2 === 0 ? h.client : other).clickButton({
          message: card,
          blocks: shown,
          actionId: 'approval.approve',
          userId: i % 4 < 2 ? B : C,
        }),
      ),
    );
    await h.card((m) => m.text.startsWith('Deploy api → production #1') && m.text.includes('succeeded'), 60_000);
    const [deployment] = await h.withStore((s) => s.listDeployments({ service: 'api', environment: 'production' }));
    const approved = (await h.withStore((s) => s.listAudit({ subject: deployment?.id ?? '', limit: 100 }))).filter(
      (e) => e.action === 'deployment.approved',
    );
    const registered = h.aws.requestsFor('ECS.RegisterTaskDefinition').length;
    const updated = h.aws.requestsFor('ECS.UpdateService').length;
    console.log(
      `parallel approvals on 2 replicas (Postgres): ${CLICKS} clicks, ${approved.length} approved transition, ` +
        `${registered} RegisterTaskDefinition, ${updated} UpdateService`,
    );
    expect(acks.map((a) => a.status)).toEqual(Array(CLICKS).fill(200));
    expect(approved).toHaveLength(1);
    expect({ registered, updated }).toEqual({ registered: 1, updated: 1 });
    expect(h.dockhand.child.exitCode).toBeNull();
    expect(second.child.exitCode).toBeNull();
  }, 90_000);
});

if (!POSTGRES_URL) {
  if (process.env.DOCKHAND_REQUIRE_POSTGRES === '1') {
    it('needs Postgres for the two-replica approval race', () => {
      throw new Error('DOCKHAND_REQUIRE_POSTGRES=1 but DOCKHAND_TEST_POSTGRES_URL is not set');
    });
  } else {
    console.warn(
      '\n⚠ Skipping the two-replica approval race: DOCKHAND_TEST_POSTGRES_URL is not set.\n' +
        '  start one with: bash scripts/test-postgres.sh start && export DOCKHAND_TEST_POSTGRES_URL=$(bash scripts/test-postgres.sh url)\n',
    );
  }
}
