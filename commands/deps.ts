import type { Config } from '../src/config/schema.ts';
import type { Logger } from '../src/logger.ts';
import type { Metrics } from '../src/metrics.ts';
import type { Clock, EcsReader, Store } from '../src/ports.ts';

/** What the command handlers need; src/app.ts builds it, tests pass fakes. */
export interface CommandDeps {
  config: Config;
  ecs: EcsReader;
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Keeps background work (after the ack) visible to graceful shutdown. */
  track<T>(work: Promise<T>): Promise<T>;
}
