import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * ECS deployment alarms end to end: dockhand as a process, signed Slack requests, the fake Slack and the fake AWS
 * (CloudWatch over JSON 1.0). The approval card names the service's alarms with their states; an alarm that goes
 * into ALARM while the rollout runs makes ECS fail it and roll back, and the card says so, naming the alarm. A service
 * without alarms costs no CloudWatch call. The fake steps rollouts only when told (autoStep manual), so the alarm
 * fires at a known point of the rollout.
 */
const A = 'U0ALICE';
const B = 'U0BOB';
const ECR = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  ecr: { type: ecr }
approvals:
  prod: { approvers: ["${B}"], required: 1, expiresAfter: 30m }
services:
  api:
    image: { registry: ecr, repository: acme/api }
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app }, approval: prod }
  worker:
    image: { registry: ecr, repository: acme/worker }
    environments:
      production: { target: { type: ecs, cluster: prod, service: worker, container: app } }
`;

describe('dockhand as a process: ECS deployment alarms on the cards', () => {
  const aws = new FakeAws({ autoStep: 'manual' });
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;
  let stepping: ReturnType<typeof setInterval> | undefined;

  const card = (predicate: (text: string, blocks: string) => boolean, timeoutMs = 30_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m.text, JSON.stringify(m.blocks)), timeoutMs);

  beforeAll(async () => {
    const { url } = await aws.start();
    aws.putAlarm('api-latency', { state: 'INSUFFICIENT_DATA', reason: 'Insufficient Data: 1 datapoint was unknown.' });
    aws.seedService({
      cluster: 'prod',
      service: 'api',
      desiredCount: 2,
      containers: [{ name: 'app', image: `${ECR}/acme/api:1.0.0` }],
      alarms: { alarmNames: ['api-5xx', 'api-latency'], enable: true, rollback: true },
    });
    aws.seedService({
      cluster: 'prod',
      service: 'worker',
      desiredCount: 1,
      containers: [{ name: 'app', image: `${ECR}/acme/worker:1.0.0` }],
    });
    aws.putImage('acme/api', '1.1.0', `sha256:${'a'.repeat(64)}`);
    aws.putImage('acme/worker', '1.1.0', `sha256:${'b'.repeat(64)}`);
    slack = await startTestSlack();
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: url,
      env: { DOCKHAND_ROLLOUT_POLL_MS: '200' },
    });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    if (stepping) clearInterval(stepping);
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('names the alarms on the approval card; an alarm in ALARM mid-rollout → the card reports the rollback, naming it', async () => {
    aws.resetCalls();
    await client.slashCommand({ command: '/deploy', text: 'api image:1.1.0 to production', userId: A });
    const pending = await card((_, blocks) => blocks.includes('approval.approve'));
    const asked = JSON.stringify(pending.blocks);
    expect(asked).toContain('*Deployment alarms* (ECS rolls the service back if one goes into ALARM)');
    expect(asked).toContain('`api-5xx` :large_green_circle: OK');
    expect(asked).toContain('`api-latency` :white_circle: insufficient data');
    expect(aws.calls['CloudWatch.DescribeAlarms']).toBe(1);
    expect(aws.requestsFor('CloudWatch.DescribeAlarms')[0]?.input.AlarmNames).toEqual(['api-5xx', 'api-latency']);

    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    const rolling = await card((text) => text.startsWith('Deploy api → production #1: rolling out'));
    expect(JSON.stringify(rolling.blocks)).toContain('*Deployment alarms*');

    // ECS moves on a step at a time; once the new tasks run, the 5xx alarm fires.
    const service = aws.services.get('prod/api');
    const ours = service?.deployments[0]?.id;
    stepping = setInterval(() => {
      const primary = service?.deployments.find((d) => d.status === 'PRIMARY');
      if (primary?.id === ours && primary && aws.counts(service!, primary).running > 0) {
        if (aws.alarms.get('api-5xx')?.state === 'OK') {
          aws.setAlarmState(
            'api-5xx',
            'ALARM',
            'Threshold Crossed: 1 datapoint [42.0] was greater than the threshold (5.0).',
          );
        }
      }
      aws.step();
    }, 150);

    const failed = await card((text) => text.startsWith('Deploy api → production #1: failed'), 30_000);
    clearInterval(stepping);
    stepping = undefined;
    const blocks = JSON.stringify(failed.blocks);
    expect(blocks).toContain(
      ':rotating_light: *Alarm `api-5xx` went into ALARM* — ECS failed the rollout and rolls the service back to the previous revision.',
    );
    expect(blocks).toContain('`api-5xx` :red_circle: *ALARM* — Threshold Crossed');
    // ECS did roll back: the service runs the previous revision again.
    expect(service?.taskDefinition).toMatch(/:task-definition\/api:1$/);
    // One DescribeAlarms per look at the rollout, never more than the DescribeServices of those looks.
    expect(aws.calls['CloudWatch.DescribeAlarms']).toBeGreaterThan(1);
    expect(aws.calls['CloudWatch.DescribeAlarms']).toBeLessThanOrEqual(aws.calls['ECS.DescribeServices'] ?? 0);
    // Nothing internal reached Slack.
    expect(blocks).not.toMatch(/at \S+\.ts:\d+|Error: /);
  });

  it('a service without alarms: no CloudWatch call for the plan or the rollout, and no alarm section', async () => {
    aws.resetCalls();
    stepping = setInterval(() => aws.step(), 100);
    await client.slashCommand({ command: '/deploy', text: 'worker image:1.1.0 to production', userId: A });
    const done = await card((text) => text.startsWith('Deploy worker → production #2: succeeded'), 30_000);
    clearInterval(stepping);
    stepping = undefined;
    expect(aws.calls['CloudWatch.DescribeAlarms'] ?? 0).toBe(0);
    expect(aws.calls['ECS.DescribeServices']).toBeGreaterThan(0);
    const all = slack.state
      .messages('#deploys')
      .filter((m) => m.text.startsWith('Deploy worker'))
      .map((m) => JSON.stringify(m.blocks));
    expect(all.length).toBeGreaterThan(0);
    for (const b of [...all, JSON.stringify(done.blocks)]) expect(b).not.toContain('Deployment alarms');
  });
});
