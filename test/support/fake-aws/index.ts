/**
 * Stateful fake AWS endpoint (ECS, ECR, CloudWatch Logs, EC2) for integration and end-to-end tests.
 *
 *   const fake = new FakeAws();
 *   const { url } = await fake.start();      // AWS_ENDPOINT_URL=url for a child process
 *   fake.seedService({ cluster: 'prod', service: 'api', containers: [{ name: 'app', image: 'api:1' }], desiredCount: 2 });
 *   ...
 *   await fake.stop();
 *
 * See README.md in this directory.
 */
export { AwsError } from './errors.ts';
export {
  arn,
  type FailRolloutOptions,
  FakeAws,
  type FakeAwsOptions,
  primaryOf,
  type SeedContainer,
  type SeededService,
  type SeedServiceOptions,
  type ServiceDescribeFailure,
  type StopTaskOptions,
} from './fake-aws.ts';
export { compileFilterPattern } from './logs.ts';
export * from './model.ts';
export { ec2Answer } from './server.ts';
