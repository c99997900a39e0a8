/**
 * AWS calls per /deploy (issue 12): the deploy pipeline with its real AWS adapters against the fake AWS over HTTP.
 * Call counts are deterministic (the fake finishes each rollout when UpdateService returns; see deploy-on-fake-aws).
 */

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useApiOnFakeAws } from '../support/api-on-fake-aws.ts';
import { deployOnFakeAws, ecrDeployConfig } from '../support/deploy-on-fake-aws.ts';
import { describeWithDocker, makeBusyboxGitRepo } from '../support/docker.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { useFakeAwsCredentials } from '../support/fake-aws-credentials.ts';

useFakeAwsCredentials();

const ecsCalls = (calls: Record<string, number>) =>
  Object.fromEntries(Object.entries(calls).filter(([key]) => key.startsWith('ECS.')));
const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

describe('AWS calls per /deploy image:<tag> (real AWS adapters, fake AWS over HTTP)', () => {
  const api = useApiOnFakeAws((fake) => {
    const seeded = fake.taskDefinition('api:1');
    if (seeded) seeded.input.tags = [{ key: 'team', value: 'payments' }];
    fake.putImage('acme/api', '1.4.3');
  });

  it('makes at most 8 ECS calls for the first deploy after start, the final IP report included', async () => {
    const { fake, pipeline } = api;
    const done = await pipeline.deploy({ imageTag: '1.4.2' });
    expect(done.state).toBe('succeeded');
    expect((done.facts.publicIps as string[]).sort()).toEqual(fake.publicIps('prod', 'api').sort());

    expect(ecsCalls(fake.calls)).toEqual({
      'ECS.DescribeServices': 3, // plan, registration (has the service moved on?), the final look
      'ECS.DescribeTaskDefinition': 1, // once, with its tags, in the plan; registration copies that read
      'ECS.RegisterTaskDefinition': 1,
      'ECS.UpdateService': 1,
      'ECS.ListTasks': 1,
      'ECS.DescribeTasks': 1,
    });
    expect(total(ecsCalls(fake.calls))).toBeLessThanOrEqual(8);
    expect(fake.requestsFor('ECS.DescribeTaskDefinition')[0]?.input).toMatchObject({ include: ['TAGS'] });
    // The registration still carries the tags the plan read.
    expect(fake.requestsFor('ECS.RegisterTaskDefinition')[0]?.input).toMatchObject({});
    const seeded = fake.taskDefinition('api:1');
    if (seeded) seeded.input.tags = [{ key: 'team', value: 'payments' }];
    expect(fake.calls['EC2.DescribeNetworkInterfaces']).toBe(1);
  });

  it('makes 7 ECS calls for the next deploy: the revision it registered is not read back', async () => {
    const { fake, pipeline } = api;
    await pipeline.deploy({ imageTag: '1.4.2' });
    fake.resetCalls();
    const done = await pipeline.deploy({ imageTag: '1.4.3' });
    expect(done.state).toBe('succeeded');
    expect(fake.calls['ECS.DescribeTaskDefinition'] ?? 0).toBe(0);
    expect(total(ecsCalls(fake.calls))).toBe(7);
  });
});

await describeWithDocker('AWS calls per /deploy from git (real engine and registry, fake AWS over HTTP)', (ctx) => {
  it('makes at most 8 ECS calls for the first deploy after start, reading the task definition once', async () => {
    const fake = new FakeAws();
    await fake.start();
    const registry = ctx.registry ?? '127.0.0.1:5000';
    const repository = `dockhand-test/deploy-calls-${randomBytes(4).toString('hex')}`;
    const repo = await makeBusyboxGitRepo({ dockerfileExtra: 'CMD ["sleep", "3600"]' });
    const built = `${registry}/${repository}:${repo.sha.slice(0, 7)}`;
    fake.seedService({
      cluster: 'prod',
      service: 'api',
      family: 'api',
      desiredCount: 2,
      containers: [{ name: 'app', image: `${registry}/${repository}:0000000` }],
    });
    const pipeline = await deployOnFakeAws(fake, {
      config: ecrDeployConfig(repo.path, registry, repository),
      docker: ctx.docker,
    });
    try {
      const done = await pipeline.deploy({});
      expect(done.state, done.reason).toBe('succeeded');
      // Built, pushed, and deployed by digest.
      expect(done.facts.image).toMatch(new RegExp(`^${registry}/${repository}@sha256:[0-9a-f]{64}$`));
      expect(fake.calls['ECS.DescribeTaskDefinition']).toBe(1);
      expect(total(ecsCalls(fake.calls))).toBeLessThanOrEqual(8);
    } finally {
      await pipeline.close();
      await fake.stop();
      await repo.cleanup();
      await ctx.docker
        .getImage(built)
        .remove()
        .catch(() => {});
    }
  }, 120_000);
});
