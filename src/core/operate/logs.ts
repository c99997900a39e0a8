import { maskSecrets } from '../../logger.ts';
import type { Clock } from '../../ports.ts';
import type { Runtimes } from '../runtime.ts';
import type { ResolvedTarget } from '../targets.ts';

/** Lines shown at most; more matching lines are counted and the output says it was cut. */
export const LOG_LINES_SHOWN = 200;
/** Lines read at most (to count matches beyond those shown). */
export const LOG_LINES_READ = 1000;

export interface LogsRequest {
  sinceMs: number;
  grep?: string | undefined;
}

export interface ShownLogLine {
  at: Date;
  taskId: string | undefined;
  /** Masked (tokens, passwords). */
  message: string;
}

export type LogsReport =
  | {
      found: true;
      service: string;
      environment: string;
      group: string;
      sinceMs: number;
      grep: string | undefined;
      /** Oldest first, newest last. */
      lines: ShownLogLine[];
      /** How many lines matched (at least this many when `more` is true). */
      matched: number;
      /** True when lines were left out: more matched than are shown, or the search was cut short. */
      cut: boolean;
      /** True when `matched` is a lower bound. */
      more: boolean;
    }
  | { found: false; service: string; environment: string; container: string; logDriver: string | undefined };

/** `/logs`: the newest lines of a service's tasks since a moment, optionally only those containing a text. */
export const readServiceLogs = async (
  deps: { runtimes: Runtimes; clock: Clock },
  target: ResolvedTarget,
  request: LogsRequest,
): Promise<LogsReport> => {
  const since = new Date(deps.clock.now().getTime() - request.sinceMs);
  const where = { service: target.service, environment: target.environment };
  const result = await deps.runtimes.for(target).logs(target, { since, grep: request.grep, limit: LOG_LINES_READ });
  if (!result.found) return { found: false, ...where, container: result.container, logDriver: result.logDriver };
  const read = result.lines;
  const more = result.incomplete || read.length >= LOG_LINES_READ;
  const lines = read
    .slice(-LOG_LINES_SHOWN)
    .map((l) => ({ at: l.at, taskId: l.taskId, message: maskSecrets(l.message) }));
  return {
    found: true,
    ...where,
    group: result.group,
    sinceMs: request.sinceMs,
    grep: request.grep,
    lines,
    matched: read.length,
    cut: more || read.length > lines.length,
    more,
  };
};
