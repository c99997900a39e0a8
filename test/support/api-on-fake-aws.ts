import { afterEach, beforeEach } from 'vitest';
import { type DeployOnFakeAws, deployOnFakeAws, ecrDeployConfig } from './deploy-on-fake-aws.ts';
import { ACCOUNT_ID, FakeAws } from './fake-aws/index.ts';

export interface ApiOnFakeAws {
  /** The fake AWS of the running test. */
  readonly fake: FakeAws;
  /** The deploy pipeline of the running test, over that fake. */
  readonly pipeline: DeployOnFakeAws;
}

/**
 * For a describe block: before each test, a fake AWS running `api` in cluster `prod` (task definition api:1, two
 * tasks of acme/api:1.4.1 from the fake's ECR) with acme/api:1.4.2 pushed, and the deploy pipeline of
 * ecrDeployConfig() over it (deployOnFakeAws); `prepare` adds to the fake before the pipeline starts. Both are stopped
 * after each test.
 */
export const useApiOnFakeAws = (prepare?: (fake: FakeAws) => void): ApiOnFakeAws => {
  let fake: FakeAws | undefined;
  let pipeline: DeployOnFakeAws | undefined;
  beforeEach(async () => {
    fake = new FakeAws();
    await fake.start();
    fake.seedService({
      cluster: 'prod',
      service: 'api',
      family: 'api',
      desiredCount: 2,
      containers: [{ name: 'app', image: `${ACCOUNT_ID}.dkr.ecr.us-east-1.amazonaws.com/acme/api:1.4.1` }],
    });
    fake.createRepository('acme/api');
    fake.putImage('acme/api', '1.4.2');
    prepare?.(fake);
    pipeline = await deployOnFakeAws(fake, { config: ecrDeployConfig() });
  });
  afterEach(async () => {
    await pipeline?.close();
    await fake?.stop();
    pipeline = undefined;
    fake = undefined;
  });
  const running = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useApiOnFakeAws: no test is running');
    return value;
  };
  return {
    get fake() {
      return running(fake);
    },
    get pipeline() {
      return running(pipeline);
    },
  };
};
