/**
 * Slack requests received and not yet acknowledged. Work a command does after its own ack waits (`settled`) until
 * none is left and none has arrived for `quietMs`, so under a burst every acknowledgement goes out before any
 * command's AWS calls, card rendering or reply take the event loop (bench:ack). The quiet window matters because a
 * burst does not arrive at once: its requests trickle in over tens of milliseconds, and without the window the
 * first one acknowledged found nothing waiting and ran its work while the rest of the burst queued behind it.
 * The window runs from the last arrival or the last acknowledgement, whichever is later: the server takes a burst's
 * requests one at a time (the count is 0 between two of them), so one request that took longer than the window to
 * acknowledge (its process descheduled for 21 ms under bench:ack) would otherwise find the window passed at its own
 * ack and let work run while the rest of the burst still waited in the socket buffers.
 * The wait is bounded: a steady stream of requests delays work, never stops it.
 */
export interface PendingAcksOptions {
  /** How long no request may have arrived or been acknowledged before work after an ack runs (default 20 ms). */
  quietMs?: number;
  /** Milliseconds on a monotonic clock (default performance.now): a wall clock stepped back would stretch the waits. */
  now?: () => number;
}

interface Waiter {
  wake: () => void;
  /** When it stops waiting anyway (the clock of `now`). */
  deadline: number;
}

export class PendingAcks {
  #count = 0;
  #waiters: Waiter[] = [];
  /** One timer for the earliest deadline of all waiters (a timer each cost every request of a burst one more). */
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #deadlineAt = Number.POSITIVE_INFINITY;
  #lastActivity = Number.NEGATIVE_INFINITY;
  #quietTimer: ReturnType<typeof setTimeout> | undefined;
  #nextWake: ReturnType<typeof setImmediate> | undefined;
  readonly #quietMs: number;
  readonly #now: () => number;

  constructor(options: PendingAcksOptions = {}) {
    this.#quietMs = options.quietMs ?? 20;
    this.#now = options.now ?? (() => performance.now());
  }

  get count(): number {
    return this.#count;
  }

  /** A request arrived; call the returned function once it is answered (further calls do nothing). */
  begin(): () => void {
    this.#count++;
    // The quiet timer, if armed, is left as it is: when it fires it finds this activity and waits again for the rest
    // of the window. Clearing and re-arming it here cost every request of a burst two timer operations.
    this.#lastActivity = this.#now();
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#count--;
      this.#lastActivity = this.#now();
      this.#wakeWhenQuiet();
    };
  }

  /** Resolves when no request waits for its ack and none arrived or was acknowledged for `quietMs`, or after `maxWaitMs`. */
  settled(maxWaitMs = 1000): Promise<void> {
    if (this.#isQuiet()) return Promise.resolve();
    return new Promise((resolve) => {
      const deadline = this.#now() + maxWaitMs;
      this.#waiters.push({ wake: resolve, deadline });
      if (deadline < this.#deadlineAt) this.#armDeadline(deadline);
      this.#wakeWhenQuiet();
    });
  }

  #armDeadline(at: number): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineAt = at;
    this.#deadlineTimer = setTimeout(() => this.#wakeOverdue(), Math.max(0, at - this.#now()));
  }

  /** Wakes the waiters whose deadline has passed; the timer then waits for the earliest of the others. */
  #wakeOverdue(): void {
    this.#deadlineTimer = undefined;
    this.#deadlineAt = Number.POSITIVE_INFINITY;
    const now = this.#now();
    const overdue = this.#waiters.filter((w) => w.deadline <= now);
    this.#waiters = this.#waiters.filter((w) => w.deadline > now);
    for (const waiter of overdue) waiter.wake();
    this.#rearm();
  }

  #rearm(): void {
    if (this.#waiters.length === 0) {
      clearTimeout(this.#deadlineTimer);
      this.#deadlineTimer = undefined;
      this.#deadlineAt = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.#deadlineTimer !== undefined) return; // still due at or before the earliest of those left
    let earliest = Number.POSITIVE_INFINITY;
    for (const waiter of this.#waiters) earliest = Math.min(earliest, waiter.deadline);
    this.#armDeadline(earliest);
  }

  #isQuiet(): boolean {
    return this.#count === 0 && this.#now() - this.#lastActivity >= this.#quietMs;
  }

  /** Once nothing waits for an ack, wakes the waiters when the quiet window since the last activity has passed. */
  #wakeWhenQuiet(): void {
    if (this.#count > 0 || this.#waiters.length === 0 || this.#quietTimer !== undefined) return;
    if (this.#nextWake !== undefined) return;
    if (this.#isQuiet()) {
      // One waiter per turn of the event loop: woken together, fifty /status ran their work back to back in one turn
      // (17–46 ms under bench:ack), and a request arriving meanwhile waited for all of it. Between two waiters the
      // loop reads the sockets; a request read there makes it not quiet, and the rest wait for its ack again.
      this.#waiters.shift()?.wake();
      this.#rearm();
      if (this.#waiters.length > 0) {
        this.#nextWake = setImmediate(() => {
          this.#nextWake = undefined;
          this.#wakeWhenQuiet();
        });
      }
      return;
    }
    this.#quietTimer = setTimeout(
      () => {
        this.#quietTimer = undefined;
        this.#wakeWhenQuiet();
      },
      Math.max(1, this.#quietMs - (this.#now() - this.#lastActivity)),
    );
  }
}
