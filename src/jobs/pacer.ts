/**
 * Slack accepts about one message per second per channel. Alerts of one tick go out through this small queue:
 * per channel one after another, at least `intervalMs` apart, on the injected Clock; channels do not wait for
 * each other.
 */
import type { Clock, MessageRef, Notifier, OutgoingMessage } from '../ports.ts';

export const POST_INTERVAL_MS = 1_000;

export class ChannelPacer {
  readonly #notifier: Pick<Notifier, 'post'>;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  /** Per channel: when the last post finished, and the tail of its queue. */
  readonly #channels = new Map<string, { lastAt: number; tail: Promise<unknown> }>();

  constructor(notifier: Pick<Notifier, 'post'>, clock: Clock, intervalMs = POST_INTERVAL_MS) {
    this.#notifier = notifier;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  post(channel: string, message: OutgoingMessage): Promise<MessageRef> {
    let state = this.#channels.get(channel);
    if (!state) {
      state = { lastAt: Number.NEGATIVE_INFINITY, tail: Promise.resolve() };
      this.#channels.set(channel, state);
    }
    const queue = state;
    const sent = queue.tail.then(async () => {
      const wait = queue.lastAt + this.#intervalMs - this.#clock.now().getTime();
      if (wait > 0) await this.#clock.sleep(wait);
      try {
        return await this.#notifier.post(channel, message);
      } finally {
        queue.lastAt = this.#clock.now().getTime();
      }
    });
    // The queue goes on after a failed post; the caller sees the failure.
    queue.tail = sent.catch(() => undefined);
    return sent;
  }

  /** Resolves when every queued post has been attempted. */
  async idle(): Promise<void> {
    await Promise.all([...this.#channels.values()].map((c) => c.tail));
  }
}
