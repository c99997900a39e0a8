/**
 * Slack requests received and not yet acknowledged. Work a command does after its own ack waits (`settled`) until
 * none is left, so under a burst every acknowledgement goes out before any command's AWS calls, card rendering or
 * reply take the event loop (bench:ack). The wait is bounded: a steady stream of requests delays work, never stops it.
 */
export class PendingAcks {
  #count = 0;
  #waiters: (() => void)[] = [];

  get count(): number {
    return this.#count;
  }

  /** A request arrived; call the returned function once it is answered (further calls do nothing). */
  begin(): () => void {
    this.#count++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#count--;
      if (this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
    };
  }

  /** Resolves when no request waits for its ack (at once when none does), or after `maxWaitMs`. */
  settled(maxWaitMs = 1000): Promise<void> {
    if (this.#count === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve();
      }, maxWaitMs);
      this.#waiters.push(wake);
    });
  }
}
