import { ErrorCode } from '@slack/web-api';
import { DockhandError, errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Clock } from '../ports.ts';

/**
 * First contact with Slack at start-up. A token Slack refuses is the operator's mistake: one line that names the
 * variable, and the process exits. Slack out of reach is weather: retry with backoff while /healthz says why.
 */

/** The variable holding the token a Slack call used. */
export type TokenVariable = 'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN';

/**
 * Slack's answers meaning "this token will never work" (auth.test and apps.connections.open; @slack/socket-mode
 * treats the same codes as unrecoverable). Any other failure (network, HTTP 5xx, rate limit) is worth retrying.
 */
const REFUSED_TOKEN = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'not_allowed_token_type',
  'not_bearer_token',
  'user_removed_from_team',
  'team_disabled',
]);

const REMEDY: Record<TokenVariable, string> = {
  SLACK_BOT_TOKEN: 'set it to the Bot User OAuth Token (xoxb-…) from the app’s “OAuth & Permissions” page',
  SLACK_APP_TOKEN:
    'set it to an app-level token (xapp-…) with the connections:write scope, from the app’s “Basic Information” page',
};

/** Slack refused a token: start-up cannot succeed until the operator changes the variable. */
export class SlackTokenError extends DockhandError {
  readonly variable: TokenVariable;
  readonly slackCode: string;

  constructor(variable: TokenVariable, slackCode: string) {
    super('slack', `Slack refused ${variable} (${slackCode}): ${REMEDY[variable]}.`);
    this.name = 'SlackTokenError';
    this.variable = variable;
    this.slackCode = slackCode;
  }
}

const slackCodeOf = (error: unknown): string | undefined => {
  if (!error || typeof error !== 'object' || !('code' in error) || error.code !== ErrorCode.PlatformError) {
    return undefined;
  }
  const data = (error as { data?: { error?: unknown } }).data;
  return typeof data?.error === 'string' ? data.error : undefined;
};

/** The innermost cause of a failed request (fetch says only "fetch failed"), with its code: `connect ECONNREFUSED …`. */
const networkReason = (error: unknown): string => {
  let inner = error;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  const code = inner && typeof inner === 'object' && 'code' in inner ? String(inner.code) : undefined;
  const message = errorMessage(inner);
  if (code === undefined || message.includes(code)) return message || errorMessage(error);
  return message ? `${code}: ${message}` : code;
};

/** Why a Slack call failed, in one short phrase without a token: `getaddrinfo ENOTFOUND slack.com`, `HTTP 503`… */
const reasonOf = (error: unknown): string => {
  const code = slackCodeOf(error);
  if (code !== undefined) return `Slack answered ${code}`;
  if (error && typeof error === 'object' && 'code' in error) {
    if (error.code === ErrorCode.RequestError && 'original' in error) return networkReason(error.original);
    if (error.code === ErrorCode.HTTPError && 'statusCode' in error) return `Slack answered HTTP ${error.statusCode}`;
    if (error.code === ErrorCode.RateLimitedError) return 'Slack is rate-limiting this app';
  }
  return errorMessage(error);
};

/** Runs one Slack call, turning a refused token into a SlackTokenError that names `variable`. */
export const withToken = async <T>(variable: TokenVariable, call: () => Promise<T>): Promise<T> => {
  try {
    return await call();
  } catch (error) {
    const code = slackCodeOf(error);
    if (code !== undefined && REFUSED_TOKEN.has(code)) throw new SlackTokenError(variable, code);
    throw error;
  }
};

export interface ConnectOptions {
  /** One bounded attempt (each Slack call has its own timeout): resolves once Slack is reached. */
  attempt: () => Promise<void>;
  clock: Clock;
  logger: Logger;
  /** Called with the reason before each wait, and with undefined once Slack is reached (for /healthz). */
  onStatus: (reason: string | undefined) => void;
  /** First wait; it doubles up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Fields for the retry log line (the port /healthz answers on). */
  context?: Record<string, unknown>;
  /** Stops the retries (shutdown): the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Tries `attempt` until it succeeds. A SlackTokenError ends it at once (rethrown); anything else is logged at
 * warn with the reason and retried after 1 s, 2 s, 4 s… up to 30 s, each wait ±20 % so replicas spread out.
 */
export const connectToSlack = async (options: ConnectOptions): Promise<void> => {
  const { attempt, clock, logger, onStatus, signal } = options;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  let delayMs = options.initialDelayMs ?? 1_000;
  for (let tries = 1; ; tries++) {
    signal?.throwIfAborted();
    try {
      await attempt();
      onStatus(undefined);
      return;
    } catch (error) {
      if (error instanceof SlackTokenError) throw error;
      const reason = reasonOf(error);
      const waitMs = Math.round(delayMs * (0.8 + Math.random() * 0.4));
      onStatus(`cannot reach Slack: ${reason}`);
      logger.warn(
        { ...options.context, reason, attempt: tries, retryInMs: waitMs },
        `cannot reach Slack (${reason}); retrying in ${Math.ceil(waitMs / 1000)} s, /healthz answers 503 until then`,
      );
      await clock.sleep(waitMs, signal);
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    }
  }
};
