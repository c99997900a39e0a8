/**
 * dockhand as a process with an ECS service on the EC2 launch type (bridge networking, dynamic host ports) beside a
 * Fargate one: /status and /dockhand ips show each EC2 task at its container instance's public IP and host port,
 * over signed HTTP, the fake Slack and the fake AWS (DescribeContainerInstances, DescribeInstances on the wire).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, signedClient, startTestSlack } from '../support/slack/index.ts';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
services:
  api:
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app } }
  worker:
    environments:
      production: { target: { type: ecs, cluster: prod, service: worker, container: app } }
`;

describe('dockhand as a process: the EC2 launch type in /status and /dockhand ips', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  beforeAll(async () => {
    const { url } = await aws.start();
    aws.addContainerInstance('prod');
    aws.addContainerInstance('prod');
    aws.seedService({ cluster: 'prod', service: 'api', desiredCount: 1, containers: [{ name: 'app', image: 'a:1' }] });
    aws.seedService({
      cluster: 'prod',
      service: 'worker',
      launchType: 'EC2',
      networkMode: 'bridge',
      desiredCount: 2,
      containers: [{ name: 'app', image: 'acme/worker:1', portMappings: [{ containerPort: 8080 }] }],
    });
    slack = await startTestSlack();
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: url,
      env: { DOCKHAND_SNAPSHOT_MAX_AGE_MS: '0' },
    });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it("answers /status worker with each task at its instance's public IP and host port", async () => {
    const addresses = aws.hostAddresses('prod', 'worker');
    expect(addresses).toHaveLength(2);
    expect(addresses.every((a) => /^\d+\.\d+\.\d+\.\d+:327\d\d$/.test(a))).toBe(true);
    const response = await client.slashCommand({ command: '/status', text: 'worker in production', userId: 'U0DEV' });
    expect(response.status).toBe(200);
    const message = await slack.state.waitForMessage((m) => m.text.startsWith('worker · production'), 10_000);
    const blocks = JSON.stringify(message.blocks);
    for (const address of addresses) {
      expect(blocks).toContain(address);
      expect(message.text).toContain(address);
    }
    expect(blocks).not.toContain('no public IP');
  });

  it('answers /dockhand ips worker with ip:port per task, and asks AWS nothing more for it', async () => {
    aws.resetCalls();
    await client.slashCommand({ command: '/dockhand', text: 'ips worker', userId: 'U0DEV' });
    const reply = JSON.stringify(
      await slack.state.waitForEphemeral(
        (m) => m.user === 'U0DEV' && JSON.stringify(m).includes('IPs of worker'),
        10_000,
      ),
    );
    for (const address of aws.hostAddresses('prod', 'worker')) expect(reply).toContain(`public \`${address}\``);
    expect(reply).toContain('private `10.1.0.');
    // The instances and their IPs were learnt by /status: no ECS or EC2 call for them again.
    expect(aws.calls['ECS.DescribeContainerInstances'] ?? 0).toBe(0);
    expect(aws.calls['EC2.DescribeInstances'] ?? 0).toBe(0);
  });

  it('keeps showing the Fargate service at its ENI public IP', async () => {
    await client.slashCommand({ command: '/dockhand', text: 'ips api', userId: 'U0OPS' });
    const reply = JSON.stringify(
      await slack.state.waitForEphemeral((m) => m.user === 'U0OPS' && JSON.stringify(m).includes('IPs of api'), 10_000),
    );
    const [ip] = aws.publicIps('prod', 'api');
    expect(reply).toContain(`public \`${ip}\``);
    expect(reply).not.toContain(`${ip}:`);
  });
});
