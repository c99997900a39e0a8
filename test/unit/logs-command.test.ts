import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { logsCommand } from '../../commands/logs.ts';
import { openStore } from '../../src/adapters/store/index.ts';
import { configSchema } from '../../src/config/schema.ts';
import { DockhandError } from '../../src/errors.ts';
import { createMetrics } from '../../src/metrics.ts';
import type { LogReader } from '../../src/ports.ts';
import { FakeClock, fakeDirectory } from '../support/deploy-fakes.ts';
import { testRuntimes } from '../support/runtimes.ts';

const config = configSchema.parse({
  defaults: { channel: '#deploys', region: 'us-east-1' },
  approvals: { prod: { approvers: ['U0LEAD'] } },
  services: {
    api: {
      deployers: ['S0DEVS'],
      environments: {
        production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' }, approval: 'prod' },
      },
    },
  },
});

const harness = async () => {
  const reads: unknown[] = [];
  const replies: unknown[] = [];
  const logs: LogReader = {
    serviceLogs: async (target, query) => {
      reads.push({ target, query });
      return {
        found: true,
        group: '/ecs/api',
        lines: [{ at: new Date(), taskId: 't1', message: 'ERROR boom' }],
        incomplete: false,
      };
    },
  };
  const handler = logsCommand({
    config,
    runtimes: testRuntimes({ logs }),
    store: await openStore('sqlite::memory:'),
    clock: new FakeClock(),
    logger: pino({ level: 'silent' }),
    metrics: createMetrics(),
    track: (work) => work,
    directory: fakeDirectory({ S0DEVS: ['U0DEV'] }),
  });
  const run = (user: string) =>
    handler({
      command: { text: 'api in production grep ERROR', user_id: user } as Parameters<typeof handler>[0]['command'],
      ack: async () => {},
      respond: async (message) => {
        replies.push(message);
        return new Response(null, { status: 200 });
      },
    });
  return { run, reads, replies };
};

describe('/logs of a service that names its deployers', () => {
  it('answers a deployer and an approver', async () => {
    const h = await harness();
    await h.run('U0DEV');
    await h.run('U0LEAD');
    expect(h.reads).toHaveLength(2);
    expect(JSON.stringify(h.replies)).toContain('ERROR boom');
  });

  it('refuses anyone else without reading a line', async () => {
    const h = await harness();
    await expect(h.run('U0EVE')).rejects.toThrow(DockhandError);
    await expect(h.run('U0EVE')).rejects.toThrow('Only the deployers and approvers of `api` may read its logs.');
    expect(h.reads).toHaveLength(0);
  });
});
