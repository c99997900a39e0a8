// Two dockhand processes on one Postgres, the fake AWS and the fake Slack over HTTP, the watches on their real cron
// schedule (every minute, so this takes about three minutes): one replica runs each tick, a replica's first tick
// costs no more AWS calls than a steady one (the caches live in the store), and when the replica holding a tick is
// killed with SIGKILL in the middle of posting its alerts, the other one takes the next tick and every alert reaches
// the channel exactly once.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskDatabaseUrl } from '../../src/adapters/store/index.ts';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, startTestSlack } from '../support/slack/index.ts';

const POSTGRES_URL = process.env.DOCKHAND_TEST_POSTGRES_URL;
const HOW_TO_START_POSTGRES =
  'start one with: bash scripts/test-postgres.sh start && export DOCKHAND_TEST_POSTGRES_URL=$(bash scripts/test-postgres.sh url)';

const CONFIG = `
defaults: { channel: "#ops", region: us-east-1 }
services:
  api:
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app } }
    watch: { health: "* * * * *", publicIps: "* * * * *" }
  web:
    environments:
      production: { target: { type: ecs, cluster: prod, service: web, container: app } }
    watch: { health: "* * * * *", publicIps: "* * * * *" }
`;

type Line = Record<string, unknown>;
const isTickDone = (line: Line) => line.msg === 'watch tick done';
const isAlert = (line: Line) => typeof line.alert === 'string';

const replicasOnPostgres = (baseUrl: string) =>
  describe(`two dockhand replicas on Postgres (${maskDatabaseUrl(baseUrl)})`, () => {
    const aws = new FakeAws();
    /** The first task of each service, as seeded. */
    const firstTasks: string[] = [];
    const schema = `dockhand_e2e_${randomBytes(6).toString('hex')}`;
    const databaseUrl = `${baseUrl}${baseUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    let slack: FakeSlack;
    const replicas: DockhandProcess[] = [];

    const startReplica = async (instance: string): Promise<DockhandProcess> => {
      const replica = await startDockhand({
        config: CONFIG,
        slackApiUrl: slack.apiUrl,
        awsEndpointUrl: aws.url,
        env: { DOCKHAND_DATABASE_URL: databaseUrl, DOCKHAND_INSTANCE_ID: instance },
      });
      replicas.push(replica);
      return replica;
    };

    /** The next "watch tick done" line of any of `among`, after the ones already logged; with the process that ran it. */
    const nextTick = async (among: DockhandProcess[], timeoutMs = 75_000) => {
      const seen = new Map(among.map((r) => [r, r.logs.filter(isTickDone).length]));
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        for (const r of among) {
          const done = r.logs.filter(isTickDone);
          if (done.length > (seen.get(r) ?? 0)) return { replica: r, line: done.at(-1) as Line };
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no watch tick ran within ${timeoutMs} ms`);
    };

    const calls = () => {
      const counted = { ...aws.calls };
      aws.resetCalls();
      return counted;
    };

    beforeAll(async () => {
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      await admin.query(`CREATE SCHEMA ${schema}`);
      await admin.end();
      await aws.start();
      for (const service of ['api', 'web']) {
        const { tasks } = aws.seedService({
          cluster: 'prod',
          service,
          desiredCount: 2,
          containers: [{ name: 'app', image: `${service}:1` }],
        });
        firstTasks.push(tasks[0]?.arn ?? '');
      }
      slack = await startTestSlack();
    });

    afterAll(async () => {
      for (const r of replicas) {
        await r.stop('SIGKILL');
        removeDir(r.dir);
      }
      await slack?.close();
      await aws.stop();
      const admin = new pg.Client({ connectionString: baseUrl });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    });

    it('runs each tick once, at the minimum AWS cost, and loses or repeats no alert when the holder is killed', async () => {
      // Tick 1: replica-a alone, with nothing cached anywhere.
      const a = await startReplica('replica-a');
      aws.resetCalls();
      await nextTick([a]);
      const cold = calls();
      console.log(`tick 1 (replica-a, cold store): ${JSON.stringify(cold)}`);
      expect(cold).toEqual({
        'ECS.DescribeServices': 1,
        'ECS.DescribeTaskDefinition': 2,
        'ECS.ListTasks': 1,
        'ECS.DescribeTasks': 1,
        'EC2.DescribeNetworkInterfaces': 1,
      });

      // Tick 2: both replicas up; a task of each service crashes. Whichever replica holds the tick is killed as
      // soon as its first alert is posted, while the second waits its turn (one post a second per channel).
      const b = await startReplica('replica-b');
      for (const arn of firstTasks) aws.stopTask(arn, { exitCode: 137 });
      const firstAlert = await Promise.race(
        [a, b].map((r) => r.waitForLog(isAlert, 75_000).then((line) => ({ replica: r, line }))),
      );
      const holder = firstAlert.replica;
      const survivor = holder === a ? b : a;
      await holder.stop('SIGKILL');
      const killedMidTick = calls();
      console.log(
        `tick 2 (${holder === a ? 'replica-a' : 'replica-b'}, killed after posting "${String(firstAlert.line.msg)}"): ${JSON.stringify(killedMidTick)}`,
      );
      expect(killedMidTick['ECS.DescribeTaskDefinition'] ?? 0).toBe(0);
      // The survivor never ran tick 2: one replica per tick.
      expect(survivor.logs.filter(isTickDone)).toHaveLength(holder === a ? 0 : 1);
      expect(slack.state.messages().map((m) => m.text)).toEqual([String(firstAlert.line.msg)]);

      // Tick 3: the survivor takes over at the next minute and posts what the holder had decided but not posted.
      const takeover = await nextTick([survivor]);
      const takeoverCalls = calls();
      console.log(
        `tick 3 (${survivor === a ? 'replica-a' : 'replica-b'} takes over): ${JSON.stringify(takeoverCalls)}; posted ${String(takeover.line.posted)}`,
      );
      const texts = slack.state.messages().map((m) => m.text);
      console.log(`messages in #ops:\n  ${texts.join('\n  ')}`);
      expect(takeoverCalls['ECS.DescribeTaskDefinition'] ?? 0).toBe(0);
      expect(takeoverCalls['ECS.DescribeServices']).toBe(1);
      expect(takeoverCalls['ECS.ListTasks']).toBe(1);

      expect(texts.filter((t) => t.startsWith('api · production is degraded'))).toHaveLength(1);
      expect(texts.filter((t) => t.startsWith('web · production is degraded'))).toHaveLength(1);
      // The survivor posted the alert the holder had decided and written (the state at tick 2: one task of two
      // running), not a new reading of the service made a minute later.
      for (const service of ['api', 'web']) {
        const degraded = new RegExp(`^${service} · production is degraded: .*; 1 of 2 tasks running$`);
        expect(texts).toContainEqual(expect.stringMatching(degraded));
      }
      expect(new Set(texts).size).toBe(texts.length);
    }, 300_000);
  });

if (POSTGRES_URL) replicasOnPostgres(POSTGRES_URL);
else if (process.env.DOCKHAND_REQUIRE_POSTGRES === '1') {
  describe('two dockhand replicas on Postgres', () => {
    it('has a Postgres server', () => {
      throw new Error(
        `DOCKHAND_REQUIRE_POSTGRES=1 but DOCKHAND_TEST_POSTGRES_URL is not set; ${HOW_TO_START_POSTGRES}`,
      );
    });
  });
} else {
  console.warn(`\n⚠ Skipping the replicas e2e: DOCKHAND_TEST_POSTGRES_URL is not set.\n  ${HOW_TO_START_POSTGRES}\n`);
  describe.skip('two dockhand replicas on Postgres (set DOCKHAND_TEST_POSTGRES_URL to run)', () => {
    it('runs each tick on one replica and survives the holder being killed', () => {});
  });
}
