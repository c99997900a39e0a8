import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

/**
 * In a fresh Node process (this one's module cache has seen every SDK): load the composition root, make the
 * ECS client, then the EC2 client, and say after each step whether @aws-sdk/client-ec2 has been loaded. (It is still
 * installed, as a devDependency, for the test that checks the fake AWS against the real SDK.)
 */
const probe = `
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/');
const loaded = () => Object.keys(require.cache).some((path) => path.includes('/@aws-sdk/client-ec2/'));
await import('./src/app.ts');
const { createAwsClients } = await import('./src/adapters/aws/clients.ts');
const steps = { afterImport: loaded() };
const clients = createAwsClients({ region: 'us-east-1' });
clients.forRegion().ecs;
steps.afterEcsClient = loaded();
const ec2 = clients.forRegion().ec2;
steps.afterEc2Client = loaded();
steps.ec2ClientName = ec2.constructor.name;
clients.destroy();
console.log(JSON.stringify(steps));
`;

describe('the EC2 SDK (91 MiB for one call) is never loaded: DescribeNetworkInterfaces has its own small client', () => {
  it('is not loaded by importing dockhand, by making the ECS client, nor by making the EC2 client', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '{}')).toEqual({
      afterImport: false,
      afterEcsClient: false,
      afterEc2Client: false,
      ec2ClientName: 'Ec2QueryClient',
    });
  });
});
