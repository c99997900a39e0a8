import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * /scale, /rollback, /logs and /dockhand lock | unlock | history | ips end to end: dockhand as a process, the fake
 * Slack and the fake AWS (ECR answers DescribeImages, so image:<tag> deploys need no Docker).
 * A requests, B approves, M is nobody in particular.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const M = 'U0MALLORY';
const REPO = 'acme/api';
/** Known secrets: the registry's password (from the environment) and the AWS secret key startDockhand sets. */
const REGISTRY_PASSWORD = 'Tr0ub4dor-registry';
const AWS_SECRET = 'fake-secret-access-key';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  ecr: { type: ecr }
  inhouse: { type: registry, address: "127.0.0.1:5999", username: bot, password: "\${REGISTRY_PASSWORD}" }
approvals:
  prod: { approvers: ["${B}"], required: 1, expiresAfter: 30m }
services:
  api:
    image: { registry: ecr, repository: ${REPO} }
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app }, approval: prod }
  quiet:
    environments:
      production: { target: { type: ecs, cluster: prod, service: quiet, container: app } }
`;

describe('dockhand as a process: operating a service (scale, rollback, logs, locks, history, ips)', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 30_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
  const ephemeral = (user: string, predicate: (text: string) => boolean, timeoutMs = 15_000) =>
    slack.state.waitForEphemeral((m) => m.user === user && predicate(m.text + JSON.stringify(m.blocks)), timeoutMs);
  /** The next ephemeral reply to `user` after `work`, matching `predicate`. */
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
  const command = (name: string, text: string, userId = A) =>
    client.slashCommand({ command: name, text, userId, channel: '#deploys' });
  const approve = async (title: string) => {
    const pending = await card(
      (m) => m.text.startsWith(title) && JSON.stringify(m.blocks).includes('approval.approve'),
    );
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    return pending;
  };
  const updatesOf = (service: string) =>
    aws.requestsFor('ECS.UpdateService').filter((u) => (u.input as { service: string }).service === service);

  beforeAll(async () => {
    const { url } = await aws.start();
    aws.seedService({
      cluster: 'prod',
      service: 'api',
      family: 'api',
      desiredCount: 2,
      containers: [{ name: 'app', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:1.0.0' }],
    });
    aws.seedService({
      cluster: 'prod',
      service: 'quiet',
      desiredCount: 1,
      containers: [{ name: 'app', image: 'acme/quiet:1', logConfiguration: { logDriver: 'splunk', options: {} } }],
    });
    aws.putImage(REPO, '1.1.0', `sha256:${'1'.repeat(64)}`);
    aws.putImage(REPO, '1.2.0', `sha256:${'2'.repeat(64)}`);
    slack = await startTestSlack();
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: url,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '200', REGISTRY_PASSWORD },
    });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('refuses /scale counts outside the bounds or not whole numbers, without any AWS call', async () => {
    aws.resetCalls();
    for (const text of ['api 99', 'api -1', 'api four', 'api 0']) {
      const response = await command('/scale', text);
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ response_type: 'ephemeral' });
    }
    const tooMany = await command('/scale', 'api 99');
    expect(JSON.stringify(tooMany.body)).toContain('between 1 and 10 tasks');
    const notANumber = await command('/scale', 'api four');
    expect(JSON.stringify(notANumber.body)).toContain('is not a task count');
    await new Promise((r) => setTimeout(r, 300));
    expect(Object.keys(aws.calls).filter((k) => (aws.calls[k] ?? 0) > 0)).toEqual([]);
  });

  it('scales api to 4 in production after approval: one UpdateService with desiredCount 4, the card follows to 4/4', async () => {
    await command('/scale', 'api 4 in production');
    // The rollout holds still until the card has shown it in progress: cards follow the store at their own pace
    // (one update per 2 s), so a rollout faster than that may go straight to its final card.
    aws.autoStep = 'manual';
    await approve('Scale api → production to 4');
    await card(
      (m) => m.text.startsWith('Scale api → production to 4') && /rolling out · [0-3]\/4 running/.test(m.text),
    );
    aws.autoStep = 'onDescribe';
    const done = await card((m) => m.text.startsWith('Scale api → production to 4') && m.text.includes('succeeded'));
    expect(JSON.stringify(done.blocks)).toContain('Scaled');
    const updates = updatesOf('api');
    expect(updates).toHaveLength(1);
    expect(updates[0]?.input).toMatchObject({ desiredCount: 4 });
    expect(updates[0]?.input.taskDefinition).toBeUndefined();
    // the card followed the counts while scaling
    const history = done.history.map((v) => v.text);
    expect(history.some((t) => /rolling out · [0-3]\/4 running/.test(t))).toBe(true);
    expect(aws.serviceTasks('prod', 'api').filter((t) => t.lastStatus === 'RUNNING')).toHaveLength(4);
  }, 60_000);

  it('rolls back to the revision before the last deployment, naming both revisions, and marks that one rolled back', async () => {
    await command('/deploy', 'api image:1.1.0 to production');
    await approve('Deploy api → production #2');
    await card((m) => m.text.startsWith('Deploy api → production #2') && m.text.includes('succeeded'), 60_000);
    await command('/deploy', 'api image:1.2.0 to production');
    await approve('Deploy api → production #3');
    await card((m) => m.text.startsWith('Deploy api → production #3') && m.text.includes('succeeded'), 60_000);

    await command('/rollback', 'api');
    const pending = await approve('Rollback api → production #4');
    const asked = JSON.stringify(pending.blocks);
    expect(asked).toContain('api:2'); // the revision the first deployment rolled out
    expect(asked).toContain('api:3'); // what runs now
    expect(asked).toContain('before deployment #3');
    const done = await card((m) => m.text.startsWith('Rollback api → production #4') && m.text.includes('succeeded'));
    expect(JSON.stringify(done.blocks)).toContain('`api:3` → `api:2`');
    expect(updatesOf('api').at(-1)?.input.taskDefinition).toContain('task-definition/api:2');
    await card((m) => m.text.startsWith('Deploy api → production #3') && m.text.includes('rolled back'), 10_000);
  }, 180_000);

  it('refuses /rollback to a revision that is not in the family', async () => {
    const before = updatesOf('api').length;
    await command('/rollback', 'api 9999', M);
    const reply = await ephemeral(M, (t) => t.includes('9999'));
    expect(reply.text).toContain('revision 9999 is not an ACTIVE revision of family api');
    expect(updatesOf('api')).toHaveLength(before);
  });

  it('shows only the matching lines of the service since 5m, newest last, with a count', async () => {
    const now = Date.now();
    const [t1, t2] = aws.serviceTasks('prod', 'api').map((t) => t.arn.split('/').at(-1) as string);
    aws.putLogEvents('/ecs/api', `ecs/app/${t1}`, [
      { timestamp: now - 20 * 60_000, message: 'ERROR too old to show' },
      { timestamp: now - 4 * 60_000, message: 'ERROR first failure password=hunter2' },
      { timestamp: now - 3 * 60_000, message: 'INFO all good' },
      { timestamp: now - 1 * 60_000, message: 'ERROR third failure' },
    ]);
    aws.putLogEvents('/ecs/api', `ecs/app/${t2}`, [{ timestamp: now - 2 * 60_000, message: 'ERROR second failure' }]);
    aws.putLogEvents('/ecs/quiet', 'ecs/app/other', [{ timestamp: now - 60_000, message: 'ERROR of another service' }]);

    await command('/logs', 'api since 5m grep ERROR', M);
    const reply = await ephemeral(M, (t) => t.includes('Logs of'));
    const text = JSON.stringify(reply.blocks);
    expect(text).toContain('3 lines containing');
    const first = text.indexOf('first failure');
    const second = text.indexOf('second failure');
    const third = text.indexOf('third failure');
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(second);
    expect(second).toBeLessThan(third);
    expect(text).toContain((t2 ?? '').slice(0, 8));
    expect(text).not.toContain('all good');
    expect(text).not.toContain('too old');
    expect(text).not.toContain('another service');
    expect(text).not.toContain('hunter2');
  });

  it('masks the registry password and the AWS secret key where log lines show them as bare values', async () => {
    const now = Date.now();
    const [t1] = aws.serviceTasks('prod', 'api').map((t) => t.arn.split('/').at(-1) as string);
    aws.putLogEvents('/ecs/api', `ecs/app/${t1}`, [
      { timestamp: now - 30_000, message: `LEAK docker login -u bot ${REGISTRY_PASSWORD} 127.0.0.1:5999` },
      { timestamp: now - 20_000, message: `LEAK signing with ${AWS_SECRET}` },
    ]);

    await command('/logs', 'api since 1m grep LEAK', M);
    const reply = await ephemeral(M, (t) => t.includes('LEAK'));
    const text = reply.text + JSON.stringify(reply.blocks);
    expect(text).toContain('docker login -u bot [REDACTED]');
    expect(text).toContain('signing with [REDACTED]');
    expect(text).not.toContain(REGISTRY_PASSWORD);
    expect(text).not.toContain(AWS_SECRET);
    expect(dockhand.output()).not.toContain(REGISTRY_PASSWORD);
  });

  it('explains that a service without awslogs has no logs to read, naming its log driver', async () => {
    await command('/logs', 'quiet', M);
    const reply = await ephemeral(M, (t) => t.includes('awslogs'));
    expect(reply.text + JSON.stringify(reply.blocks)).toContain('splunk');
  });

  it('a manual lock blocks /deploy, /scale and /rollback with the reason; only the locker or an approver unlocks', async () => {
    await command('/dockhand', 'lock api in production investigating the 5xx spike', A);
    const announced = await slack.state.waitForMessage((m) => m.text.includes('locked api in production'), 10_000);
    // The notification names the locker: a real mention, not "&lt;@U…&gt;".
    expect(announced.text).toBe(`<@${A}> locked api in production: investigating the 5xx spike`);
    const before = updatesOf('api').length;
    for (const [name, text] of [
      ['/deploy', 'api image:1.1.0'],
      ['/scale', 'api 3'],
      ['/rollback', 'api'],
    ] as const) {
      const refusal = await nextEphemeral(
        M,
        () => command(name, text, M),
        (t) => t.includes('is locked'),
      );
      expect(refusal.text).toContain('investigating the 5xx spike');
      expect(refusal.text).toContain(A);
    }
    await command('/dockhand', 'unlock api', M);
    const refused = await ephemeral(M, (t) => t.includes('cannot unlock'));
    expect(refused.text).toContain('approver');
    await command('/dockhand', 'unlock api', B);
    const unlocked = await slack.state.waitForMessage((m) => m.text.includes('unlocked api in production'), 10_000);
    expect(unlocked.text).toBe(`<@${B}> unlocked api in production`);
    expect(updatesOf('api')).toHaveLength(before);
  }, 60_000);

  it('lists the operations in order with who requested, who approved, the result and the revision', async () => {
    await command('/dockhand', 'history api', M);
    const reply = await ephemeral(M, (t) => t.includes('History'));
    const text = JSON.stringify(reply.blocks);
    const order = ['*#1* Scale to 4 tasks', '*#2* Deploy', '*#3* Deploy', '*#4* Rollback'].map((s) => text.indexOf(s));
    for (const i of order) expect(i).toBeGreaterThan(0);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).toContain('rolled back');
    expect(text).toContain('succeeded');
    expect(text).toContain(`requested by <@${A}>`);
    expect(text).toContain(`approved by <@${B}>`);
    expect(text).toContain('`api:2` → `api:3`');
  });

  it('lists the tasks’ public and private IPs', async () => {
    await command('/dockhand', 'ips api', M);
    const reply = await ephemeral(M, (t) => t.includes('IPs of'));
    const text = JSON.stringify(reply.blocks);
    for (const ip of aws.publicIps('prod', 'api')) expect(text).toContain(ip);
    expect(text).toContain('private');
  });
});
