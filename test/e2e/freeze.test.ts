import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * Freezes, deploy windows and break-glass end to end: dockhand as a process (restarted once on the same database),
 * the fake Slack and the fake AWS. A requests, B and C approve production, M is nobody in particular.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const C = 'U0CAROL';
const M = 'U0MALLORY';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
/** The day after tomorrow (UTC): a window that is closed now, whenever the test runs. */
const later = DAYS[(new Date().getUTCDay() + 2) % 7] as string;

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
approvals:
  prod: { approvers: ["${B}", "${C}"], required: 1, expiresAfter: 30m }
services:
  api:
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app }, approval: prod }
      staging:
        target: { type: ecs, cluster: staging, service: api, container: app }
        windows: { timeZone: UTC, open: [{ days: ${later}, hours: "00:00-24:00" }] }
`;

describe('dockhand as a process: freezes, windows and break-glass', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  let awsUrl = '';
  const start = async (dir?: string) => {
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: awsUrl,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '200' },
      ...(dir ? { dir } : {}),
    });
    client = signedClient(slack, dockhand.eventsUrl);
  };
  const command = (name: string, text: string, userId = A) =>
    client.slashCommand({ command: name, text, userId, channel: '#deploys' });
  const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 30_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
  const nextEphemeral = async (user: string, work: () => Promise<unknown>, predicate: (text: string) => boolean) => {
    const seen = slack.state.ephemerals(user).length;
    await work();
    return slack.state.waitFor(
      (s) =>
        s
          .ephemerals(user)
          .slice(seen)
          .find((m) => predicate(m.text + JSON.stringify(m.blocks))),
      15_000,
      'a new ephemeral reply',
    );
  };
  const updatesOf = (cluster: string) =>
    aws.requestsFor('ECS.UpdateService').filter((u) => (u.input as { cluster: string }).cluster === cluster);

  beforeAll(async () => {
    awsUrl = (await aws.start()).url;
    for (const cluster of ['prod', 'staging']) {
      aws.seedService({
        cluster,
        service: 'api',
        family: `api-${cluster}`,
        desiredCount: 2,
        containers: [{ name: 'app', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:1.0.0' }],
      });
    }
    slack = await startTestSlack();
    await start();
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('lets only an approver freeze production, announces it, and refuses /scale privately with its end', async () => {
    const refused = await nextEphemeral(
      M,
      () => command('/dockhand', 'freeze production for 2h', M),
      (t) => t.includes('may freeze'),
    );
    expect(refused.text).toContain('Only the approvers of `production`');

    await command('/dockhand', 'freeze production for 2h holiday weekend', B);
    const announced = await slack.state.waitForMessage((m) => m.text.includes('froze production'), 10_000);
    expect(announced.text).toBe(`<@${B}> froze production: holiday weekend`);

    const scale = await nextEphemeral(
      A,
      () => command('/scale', 'api 3 in production'),
      (t) => t.includes('is frozen'),
    );
    expect(scale.text).toContain('`production` is frozen (holiday weekend)');
    expect(scale.text).toContain('--emergency');
    expect(updatesOf('prod')).toHaveLength(0);
  }, 30_000);

  it('keeps the freeze across a restart', async () => {
    const dir = dockhand.dir;
    await dockhand.stop();
    await start(dir);
    const listed = await nextEphemeral(
      M,
      () => command('/dockhand', 'freeze', M),
      (t) => t.includes('Frozen'),
    );
    expect(JSON.stringify(listed.blocks)).toContain('*production* frozen by');
    expect(JSON.stringify(listed.blocks)).toContain(`*staging* deploys ${later} 00:00–24:00 (UTC)`);
  }, 60_000);

  it('runs a break-glass scale after two approvals, marked on the card', async () => {
    await command('/scale', 'api 3 in production --emergency traffic spike', A);
    const pending = await card(
      (m) => m.text.startsWith('Scale api → production') && JSON.stringify(m.blocks).includes('approval.approve'),
    );
    expect(JSON.stringify(pending.blocks)).toContain('*Emergency* (break-glass): traffic spike');
    expect(pending.text).toContain('0 of 2');
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    await card((m) => m.text.startsWith('Scale api → production') && m.text.includes('1 of 2'));
    expect(updatesOf('prod')).toHaveLength(0);
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: C });
    const done = await card((m) => m.text.startsWith('Scale api → production') && m.text.includes('succeeded'));
    expect(JSON.stringify(done.blocks)).toContain('Emergency');
    expect(updatesOf('prod')).toHaveLength(1);
  }, 60_000);

  it('refuses a deploy outside the windows with when the next opens, and lifts the freeze', async () => {
    const outside = await nextEphemeral(
      A,
      () => command('/deploy', 'api --restart to staging'),
      (t) => t.includes('outside its deploy windows'),
    );
    expect(outside.text).toMatch(
      new RegExp(`next window opens ${later[0]?.toUpperCase()}${later.slice(1)} \\d{4}-\\d{2}-\\d{2} 00:00 UTC`),
    );
    expect(updatesOf('staging')).toHaveLength(0);

    await command('/dockhand', 'unfreeze production', C);
    const lifted = await slack.state.waitForMessage((m) => m.text.includes('unfroze production'), 10_000);
    expect(lifted.text).toBe(`<@${C}> unfroze production`);
    const none = await nextEphemeral(
      M,
      () => command('/dockhand', 'freeze', M),
      (t) => t.includes('No environment is frozen'),
    );
    expect(none.text).toContain('No environment is frozen');
  }, 30_000);
});
