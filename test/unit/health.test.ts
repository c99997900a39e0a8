import { describe, expect, it } from 'vitest';
import { assessHealth } from '../../src/core/health.ts';
import { aDeployment, aSnapshot, aTask } from '../support/builders.ts';

describe('assessHealth', () => {
  it('calls a service with all tasks running and healthy healthy', () => {
    expect(assessHealth(aSnapshot())).toEqual({ state: 'healthy', reasons: [] });
  });

  it('calls a rollout in progress deploying, even while counts differ', () => {
    const s = aSnapshot({
      running: 1,
      deployments: [aDeployment({ rolloutState: 'IN_PROGRESS', running: 0 }), aDeployment({ status: 'ACTIVE' })],
    });
    expect(assessHealth(s).state).toBe('deploying');
  });

  it('names unhealthy tasks and missing tasks as reasons', () => {
    const s = aSnapshot({ running: 1, tasks: [aTask({ health: 'UNHEALTHY' })] });
    expect(assessHealth(s)).toEqual({ state: 'degraded', reasons: ['1 task unhealthy', '1 of 2 tasks running'] });
  });

  it('calls a failed deployment degraded even though the service is stable again', () => {
    const s = aSnapshot({
      deployments: [aDeployment({ rolloutState: 'FAILED', rolloutStateReason: 'circuit breaker' })],
    });
    expect(assessHealth(s).state).toBe('degraded');
    expect(assessHealth(s).reasons[0]).toContain('circuit breaker');
  });

  it('calls a service with desired tasks and none running down', () => {
    expect(assessHealth(aSnapshot({ running: 0, tasks: [] })).state).toBe('down');
  });
});
