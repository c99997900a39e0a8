import type { Config } from '../src/config/schema.ts';
import type { Logger } from '../src/logger.ts';
import type { Metrics } from '../src/metrics.ts';
import type { Clock, DockerHostRuntime, EcsReader, Store } from '../src/ports.ts';

/** What the command handlers need; src/app.ts builds it, tests pass fakes. */
export interface CommandDeps {
  config: Config;
  ecs: EcsReader;
  /** Docker-host targets; undefined when none is configured. */
  host?: DockerHostRuntime | undefined;
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  /** Keeps background work (after the ack) visible to graceful shutdown. */
  track<T>(work: Promise<T>): Promise<T>;
  /** Resolves when no Slack request waits for its ack (HTTP mode); work after an ack waits for it. */
  acksSent?: (() => Promise<void>) | undefined;
}
