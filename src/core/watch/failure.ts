/**
 * The watch of a target that cannot be read, pure: "is failing" once after FAILING_AFTER_TICKS failed ticks in a
 * row, "working again" on the first tick that reads it after that; nothing in between, nothing for a shorter blip.
 */

/** Consecutive failed ticks after which "watch for … is failing" is posted (once). */
export const FAILING_AFTER_TICKS = 3;

export interface FailureMemory {
  /** Consecutive failed ticks. */
  count: number;
  /** ISO time of the first of them. */
  since: string;
  reason: string;
  /** "is failing" was posted. */
  alerted: boolean;
}

export type FailureAlert =
  | { kind: 'watch-failing'; reason: string; failedTicks: number; since: Date }
  | { kind: 'watch-recovered'; failedTicks: number; since: Date };

export interface FailureOutcome {
  memory: FailureMemory | undefined;
  alerts: FailureAlert[];
}

/** One tick: `reason` is why the target could not be read this tick, undefined when it was read. */
export const evaluateFailure = (
  memory: FailureMemory | undefined,
  reason: string | undefined,
  now: Date,
): FailureOutcome => {
  if (reason === undefined) {
    const alerts: FailureAlert[] = memory?.alerted
      ? [{ kind: 'watch-recovered', failedTicks: memory.count, since: new Date(memory.since) }]
      : [];
    return { memory: undefined, alerts };
  }
  const count = (memory?.count ?? 0) + 1;
  const since = memory?.since ?? now.toISOString();
  const alerts: FailureAlert[] = [];
  let alerted = memory?.alerted ?? false;
  if (count >= FAILING_AFTER_TICKS && !alerted) {
    alerts.push({ kind: 'watch-failing', reason, failedTicks: count, since: new Date(since) });
    alerted = true;
  }
  return { memory: { count, since, reason, alerted }, alerts };
};
