import { describe, expect, it, vi } from 'vitest';
import { createMetrics } from '../../src/metrics.ts';

const count = (text: string) => Number(/dockhand_ack_latency_seconds_count (\d+)/.exec(text)?.[1]);
const bucket = (text: string, le: string) =>
  Number(new RegExp(`dockhand_ack_latency_seconds_bucket\\{le="${le}"\\} (\\d+)`).exec(text)?.[1]);

describe('ack latency metric', () => {
  it('shows every observed ack when /metrics is read, in its bucket', async () => {
    const metrics = createMetrics();
    metrics.observeAck(0.003);
    metrics.observeAck(0.02);
    metrics.observeAck(0.2);
    const first = await metrics.registry.metrics();
    expect(count(first)).toBe(3);
    expect(bucket(first, '0.005')).toBe(1);
    expect(bucket(first, '0.025')).toBe(2);
    expect(bucket(first, '0.25')).toBe(3);
    // read again: nothing counted twice; later acks added
    metrics.observeAck(0.004);
    const second = await metrics.registry.metrics();
    expect(count(second)).toBe(4);
    expect(bucket(second, '0.005')).toBe(2);
  });

  it('observes the 1,000 kept waiting after the ack that fills them, not in its path', async () => {
    const metrics = createMetrics();
    const observe = vi.spyOn(metrics.ackLatency, 'observe');
    for (let i = 0; i < 1000; i++) metrics.observeAck(0.001);
    expect(observe).not.toHaveBeenCalled();
    await new Promise((resolve) => setImmediate(resolve));
    expect(observe).toHaveBeenCalledTimes(1000);
  });

  it('counts every ack past the 1,000 kept waiting between two reads', async () => {
    const metrics = createMetrics();
    for (let i = 0; i < 2500; i++) metrics.observeAck(0.001);
    expect(count(await metrics.registry.metrics())).toBe(2500);
  });
});
