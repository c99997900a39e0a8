import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

/**
 * In a fresh Node process (this one's module cache has seen every SDK): load the composition root and the AWS
 * adapters, then make each client in turn, and list after each step which AWS packages have been loaded.
 */
const probe = `
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/');
const loaded = () => [...new Set(Object.keys(require.cache)
  .map((path) => /node_modules\\/(@aws-sdk\\/[^/]+|@smithy\\/[^/]+)\\//.exec(path)?.[1])
  .filter((name) => name !== undefined && name !== '@smithy/types'))].sort();
await import('./src/app.ts');
await import('./src/adapters/aws/ecs-reader.ts');
await import('./src/adapters/aws/ecs-deployer.ts');
await import('./src/adapters/aws/log-reader.ts');
await import('./src/adapters/docker/registries.ts');
await import('./src/adapters/aws/route53.ts');
const { createAwsClients } = await import('./src/adapters/aws/clients.ts');
const clients = createAwsClients({ region: 'us-east-1' });
const steps = { afterImport: loaded() };
clients.forRegion().ecs;
steps.afterEcsClient = loaded().filter((name) => name.startsWith('@aws-sdk/client-'));
clients.forRegion().ec2;
steps.afterEc2Client = loaded().filter((name) => name.startsWith('@aws-sdk/client-'));
clients.forRegion().route53;
steps.afterRoute53Client = loaded().filter((name) => name.startsWith('@aws-sdk/client-'));
clients.destroy();
console.log(JSON.stringify(steps));
`;

describe('the AWS SDK (about 30 MiB) is loaded only when a dockhand first needs an AWS client', () => {
  it('loads no AWS package on import, the ECS client package with the ECS client, and no EC2 SDK at all', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '{}')).toEqual({
      afterImport: [],
      afterEcsClient: ['@aws-sdk/client-ecs'],
      afterEc2Client: ['@aws-sdk/client-ecs'],
      afterRoute53Client: ['@aws-sdk/client-ecs', '@aws-sdk/client-route-53'],
    });
  });
});
