import cron from 'node-cron';
import { describe, expect, it, vi } from 'vitest';
import { configSchema } from '../../src/config/schema.ts';

describe('config: watch schedules', () => {
  it('asks node-cron once per distinct expression, however many services share it', () => {
    const validate = vi.spyOn(cron, 'validate');
    const services = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [
        `svc-${i}`,
        {
          environments: {
            production: { target: { type: 'ecs', cluster: 'prod', service: `svc-${i}`, container: 'app' } },
          },
          watch: { health: '*/7 * * * *', publicIps: i % 2 === 0 ? '*/7 * * * *' : '13 * * * *' },
        },
      ]),
    );
    const parsed = configSchema.safeParse({ defaults: { channel: '#ops', region: 'us-east-1' }, services });
    expect(parsed.error?.issues).toBeUndefined();
    expect(validate.mock.calls.map(([expression]) => expression).sort()).toEqual(['*/7 * * * *', '13 * * * *']);
    // A wrong expression is still refused, every time it is used.
    const bad = configSchema.safeParse({
      defaults: { channel: '#ops', region: 'us-east-1' },
      services: { a: { ...services['svc-0'], watch: { health: 'every minute' } } },
    });
    expect(bad.success).toBe(false);
    validate.mockRestore();
  });
});
