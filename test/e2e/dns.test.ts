import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * DNS that follows public IPs, end to end: dockhand as a process on its real cron schedule (every minute, so this
 * takes about three minutes), the fake Slack, and the fake AWS whose Route 53 speaks REST-XML. A /deploy replaces
 * the tasks; the first Route 53 change after it is refused (injected), which is said once; the next tick moves the
 * record to the new tasks' IPs.
 */
const A = 'U0ALICE';
const REPO = 'acme/api';
const ZONE = 'Z0DOCKHANDE2E';

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  ecr: { type: ecr }
services:
  api:
    image: { registry: ecr, repository: ${REPO} }
    environments:
      production: { target: { type: ecs, cluster: prod, service: api, container: app } }
    watch:
      publicIps:
        schedule: "* * * * *"
        dns: { zone: ${ZONE}, name: api.example.com, ttl: 30 }
`;

const byNumber = (ips: readonly string[]) => [...ips].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

describe('dockhand as a process: Route 53 follows the public IPs', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  const ticksDone = () => dockhand.logs.filter((l) => l.msg === 'watch tick done').length;
  const nextTick = async (timeoutMs = 75_000) => {
    const seen = ticksDone();
    const deadline = Date.now() + timeoutMs;
    while (ticksDone() <= seen) {
      if (Date.now() > deadline) throw new Error(`no watch tick within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  const route53 = () => aws.requests.filter((r) => r.service === 'Route53').map((r) => `${r.op} ${r.status}`);
  const texts = () => slack.state.messages('#deploys').map((m) => m.text);

  beforeAll(async () => {
    const { url } = await aws.start();
    aws.seedService({
      cluster: 'prod',
      service: 'api',
      family: 'api',
      desiredCount: 2,
      containers: [{ name: 'app', image: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${REPO}:1.0.0` }],
    });
    aws.putImage(REPO, '1.1.0', `sha256:${'1'.repeat(64)}`);
    aws.putHostedZone('example.com', ZONE);
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
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('moves the record once after a deploy, says a refused change once, and catches up on the next tick', async () => {
    // Tick 1: the baseline; no Route 53 call.
    await nextTick();
    expect(route53()).toEqual([]);
    const before = byNumber(aws.publicIps('prod', 'api'));

    // A deploy replaces both tasks.
    await client.slashCommand({ command: '/deploy', text: 'api image:1.1.0 to production', userId: A });
    await slack.state.waitForMessage((m) => m.blocks.length > 0 && m.text.includes('succeeded'), 60_000);
    const after = byNumber(aws.publicIps('prod', 'api'));
    expect(after).not.toEqual(before);
    aws.resetCalls();
    aws.faults({
      failNext: {
        op: 'Route53.ChangeResourceRecordSets',
        code: 'AccessDenied',
        status: 403,
        message:
          'User: arn:aws:sts::123456789012:assumed-role/dockhand-task/9f8e7d is not authorized to perform: ' +
          `route53:ChangeResourceRecordSets on resource: arn:aws:route53:::hostedzone/${ZONE}`,
      },
    });

    // Tick 2: the settled set is written (one read: the record is new to the watch), and Route 53 refuses it.
    await nextTick();
    expect(route53()).toEqual(['ListResourceRecordSets 200', 'ChangeResourceRecordSets 403']);
    const failed = texts().filter((t) => t.includes('DNS update of api.example.com failed'));
    expect(failed).toEqual([expect.stringContaining('AccessDenied')]);
    // The alert is in the channel: the error code and what to do, not the role AWS's message names.
    expect(failed[0]).toContain('IAM');
    expect(JSON.stringify(slack.state.messages('#deploys'))).not.toMatch(/sts::|assumed-role/);
    expect(aws.dnsRecord(ZONE, 'api.example.com')).toBeUndefined();

    // Tick 3: tried again, once, without reading again; the record now holds the new tasks' IPs.
    aws.resetCalls();
    await nextTick();
    expect(route53()).toEqual(['ChangeResourceRecordSets 200']);
    expect(aws.dnsRecord(ZONE, 'api.example.com')).toMatchObject({ ttl: 30, values: after });
    await slack.state.waitForMessage(
      (m) => m.text === `api · production: DNS updated: api.example.com → ${after.join(', ')}`,
      10_000,
    );
    expect(texts().filter((t) => t.includes('DNS update of api.example.com failed'))).toHaveLength(1);
    // Nothing secret or internal reached Slack.
    expect(texts().join('\n')).not.toMatch(/fake-secret|at .*\.ts:\d+/);
  }, 300_000);
});
