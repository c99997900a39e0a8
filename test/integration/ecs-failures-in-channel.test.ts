/**
 * What a channel reads when ECS answers a service in `failures[]` instead of describing it: what dockhand was doing,
 * the names from dockhand.yml and ECS's reason code, never the failure's ARN (it names the account) or ECS's detail.
 * The real AWS adapters against the fake AWS over HTTP; the cards and replies the commands, the watch and the deploy
 * pipeline would send.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { AwsEcsReader } from '../../src/adapters/aws/ecs-reader.ts';
import { describeTargets, type Runtimes } from '../../src/core/runtime.ts';
import { describeAll, describeOne } from '../../src/core/status.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { asDockhandError } from '../../src/errors.ts';
import { watchFailingCard } from '../../src/slack/blocks/alerts.ts';
import { overviewCard } from '../../src/slack/blocks/status.ts';
import { failureText } from '../../src/slack/replies.ts';
import { useApiOnFakeAws } from '../support/api-on-fake-aws.ts';
import { ecrDeployConfig } from '../support/deploy-on-fake-aws.ts';
import { ACCOUNT_ID, FakeAws } from '../support/fake-aws/index.ts';
import { useFakeAwsCredentials } from '../support/fake-aws-credentials.ts';
import { testRuntimes } from '../support/runtimes.ts';

useFakeAwsCredentials();

const FAILURE_ARN = `arn:aws:ecs:us-east-1:${ACCOUNT_ID}:service/prod/api`;
/** ECS's detail, naming the service by its ARN. */
const DETAIL = `The service ${FAILURE_ARN} is being deleted`;
/** An ARN, or the account between an ARN's colons (an ECR image host, `<account>.dkr.ecr…`, is no ARN). */
const SECRET_PARTS = new RegExp(`arn:aws:|:${ACCOUNT_ID}:|being deleted`);

const config = ecrDeployConfig();
const target = resolveTarget(config, 'api', 'production');

describe('an ECS failures[] entry on /status and in the watch', () => {
  let fake: FakeAws;
  let clients: AwsClients;
  let runtimes: Runtimes;

  beforeEach(async () => {
    fake = new FakeAws();
    await fake.start();
    fake.seedService({ cluster: 'prod', service: 'api', containers: [{ name: 'app', image: 'api:1' }] });
    fake.failServiceDescribe('prod', 'api', { reason: 'INACTIVE', detail: DETAIL });
    clients = createAwsClients({ endpoint: fake.url, region: 'us-east-1', maxAttempts: 1 });
    runtimes = testRuntimes({ ecs: new AwsEcsReader({ clients }) });
  });
  afterEach(async () => {
    clients.destroy();
    await fake.stop();
  });

  it('shows the service, the cluster and ECS’s reason on the /status overview, not the ARN or the detail', async () => {
    const logged: unknown[] = [];
    const logger = { warn: (fields: unknown) => void logged.push(fields) };
    const card = JSON.stringify(overviewCard(await describeAll({ config, runtimes, logger }), new Date()));
    expect(card).toContain('service api in cluster prod');
    expect(card).toContain('INACTIVE');
    expect(card).not.toMatch(SECRET_PARTS);
    // The log keeps the whole failure.
    expect(JSON.stringify(logged)).toContain(FAILURE_ARN);
    expect(JSON.stringify(logged)).toContain(DETAIL);
  });

  it('answers /status of the one service in the same words, and keeps the whole failure for the log', async () => {
    const error = asDockhandError(await describeOne({ config, runtimes }, target).catch((e: unknown) => e));
    const reply = failureText(error);
    expect(reply).toContain('service api in cluster prod');
    expect(reply).toContain('INACTIVE');
    expect(reply).not.toMatch(SECRET_PARTS);
    expect(JSON.stringify(error)).toContain(FAILURE_ARN);
    expect(JSON.stringify(error)).toContain(DETAIL);
  });

  it('gives the watch a reason without the ARN for its failing alert', async () => {
    const [lookup] = await describeTargets(runtimes, [target], { units: true }, { settle: true });
    if (!lookup || lookup.found) throw new Error('expected the service not to be read');
    expect(lookup.reason).toContain('INACTIVE');
    const alert = watchFailingCard({
      service: 'api',
      environment: 'production',
      reason: lookup.reason,
      failedTicks: 3,
      since: new Date(),
    });
    expect(JSON.stringify(alert)).not.toMatch(SECRET_PARTS);
  });
});

describe('an ECS failures[] entry on the deployment card', () => {
  const api = useApiOnFakeAws();

  it('says what dockhand was describing and ECS’s reason, not the ARN or the detail', async () => {
    const { fake, pipeline } = api;
    fake.failServiceDescribe('prod', 'api', { reason: 'INACTIVE', detail: DETAIL });
    const done = await pipeline.deploy({ imageTag: '1.4.2' });
    expect(done.state).toBe('failed');
    expect(done.reason).toContain('service api in cluster prod');
    expect(done.reason).toContain('INACTIVE');
    const card = JSON.stringify(pipeline.notifier.last());
    expect(card).toContain('INACTIVE');
    expect(card).not.toMatch(SECRET_PARTS);
    expect(JSON.stringify(done)).not.toMatch(SECRET_PARTS);
  });
});
