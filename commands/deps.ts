import type { Config } from '../src/config/schema.ts';
import type { Runtimes } from '../src/core/runtime.ts';
import type { Logger } from '../src/logger.ts';
import type { Metrics } from '../src/metrics.ts';
import type { Clock, Store } from '../src/ports.ts';

/** What the command handlers need; src/app.ts builds it, tests pass fakes. */
export interface CommandDeps {
  config: Config;
  /** The runtime of each target (ECS, Docker host): what runs, its logs. */
  runtimes: Runtimes;
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Keeps background work (after the ack) visible to graceful shutdown. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Resolves when no Slack request waits for its ack (HTTP mode); work after an ack waits for it. */
  acksSent?: (() => Promise<void>) | undefined;
}
