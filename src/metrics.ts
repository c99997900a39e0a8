import { Counter, Histogram, Registry } from 'prom-client';

/** Prometheus metrics, served as text on GET /metrics. One instance per app (tests make their own). */
export const createMetrics = () => {
  const registry = new Registry();
  // Acks' latencies wait here and reach the histogram when /metrics is read: observe() cost 4 µs a request (label
  // hashing, the bucket search) in the ack path itself, where a burst's later requests wait for it (bench:ack).
  const acksToObserve: number[] = [];
  let observing: ReturnType<typeof setImmediate> | undefined;
  const observeAcks = () => {
    clearImmediate(observing);
    observing = undefined;
    for (const seconds of acksToObserve) ackLatency.observe(seconds);
    acksToObserve.length = 0;
  };
  const ackLatency = new Histogram({
    name: 'dockhand_ack_latency_seconds',
    help: 'Time from receiving a Slack request to sending its HTTP acknowledgement',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
    registers: [registry],
    collect: observeAcks,
  });
  return {
    registry,
    commands: new Counter({
      name: 'dockhand_commands_total',
      help: 'Slash commands handled, by command and outcome',
      labelNames: ['command', 'outcome'] as const,
      registers: [registry],
    }),
    actions: new Counter({
      name: 'dockhand_actions_total',
      help: 'Button clicks handled, by action id and outcome',
      labelNames: ['action', 'outcome'] as const,
      registers: [registry],
    }),
    ackLatency,
    /**
     * An ack's latency, for the histogram: kept until /metrics is read, or observed after the ack that makes 1,000 of
     * them (in a later turn of the event loop, not in that ack's own path: 1,000 observations take 0.5–2 ms).
     */
    observeAck: (seconds: number): void => {
      acksToObserve.push(seconds);
      if (acksToObserve.length >= 1000) observing ??= setImmediate(observeAcks);
    },
    awsCalls: new Counter({
      name: 'dockhand_aws_calls_total',
      help: 'AWS API calls, by service, operation and outcome',
      labelNames: ['service', 'operation', 'outcome'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: 'dockhand_errors_total',
      help: 'Errors shown to users or logged, by code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    hookDeliveries: new Counter({
      name: 'dockhand_hook_deliveries_total',
      help: 'Deploy hook deliveries (POST /hooks/ci, /hooks/github), by source and outcome (started, ignored, or the refusal)',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    }),
    jobTicks: new Counter({
      name: 'dockhand_job_ticks_total',
      help: 'Scheduled job ticks, by job and outcome',
      labelNames: ['job', 'outcome'] as const,
      registers: [registry],
    }),
  };
};

export type Metrics = ReturnType<typeof createMetrics>;
