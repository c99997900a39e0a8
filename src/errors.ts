/**
 * Coded errors with a remedy. Lower layers wrap failures with a short action phrase and `cause`;
 * one boundary (the Slack error handler) logs them and shows `message` + `hint` to the user.
 */
export type ErrorCode =
  | 'usage'
  | 'config'
  | 'not_found'
  | 'forbidden'
  | 'locked'
  | 'conflict'
  | 'invalid'
  | 'aws'
  | 'docker'
  | 'git'
  | 'registry'
  | 'store'
  | 'slack'
  | 'timeout'
  | 'internal';

export interface DockhandErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class DockhandError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: DockhandErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DockhandError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** Input that does not parse. `usage` is the command's usage line, shown with the message. */
export class UsageError extends DockhandError {
  readonly usage: string;

  constructor(message: string, usage: string) {
    super('usage', message, { hint: `Usage: \`${usage}\`` });
    this.name = 'UsageError';
    this.usage = usage;
  }
}

/** A config file or environment that cannot be used; `problems` each name a path. */
export class ConfigError extends DockhandError {
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[]) {
    super(
      'config',
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n  ${problems.join('\n  ')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * An AWS call that failed, in plain words: what we were doing, on which service, and AWS's error code.
 * `awsCode` is the SDK exception name (AccessDeniedException, ServiceNotFoundException, ThrottlingException…).
 */
export class AwsError extends DockhandError {
  readonly awsCode: string;

  constructor(action: string, cause: unknown, hint?: string) {
    const awsCode = errorName(cause);
    super('aws', `${action}: ${awsCode}: ${errorMessage(cause)}`, { cause, hint: hint ?? awsHint(awsCode) });
    this.name = 'AwsError';
    this.awsCode = awsCode;
  }
}

/** AWS's ways of saying the caller lacks a permission. */
export const isAccessDenied = (code: string): boolean =>
  code === 'AccessDeniedException' || code === 'UnauthorizedOperation' || code === 'AccessDenied';

const awsHint = (code: string): string | undefined => {
  if (isAccessDenied(code)) return 'dockhand’s IAM role lacks a permission: see “IAM policy” in the README.';
  if (code === 'ThrottlingException' || code === 'RequestLimitExceeded' || code === 'TooManyRequestsException')
    return 'AWS is throttling this account; try again in a minute.';
  if (code === 'ServiceNotFoundException' || code === 'ClusterNotFoundException')
    return 'Check the cluster and service names in dockhand.yml.';
  return undefined;
};

export const errorName = (e: unknown): string => {
  if (e && typeof e === 'object' && 'name' in e && typeof e.name === 'string' && e.name !== 'Error') return e.name;
  return 'Error';
};

export const errorMessage = (e: unknown): string => {
  if (e instanceof Error) return e.message;
  return String(e);
};

/** Normalise anything thrown into a DockhandError, once, at the boundary. */
export const asDockhandError = (e: unknown): DockhandError => {
  if (e instanceof DockhandError) return e;
  return new DockhandError('internal', 'Something went wrong inside dockhand; the details are in its log.', {
    cause: e,
  });
};

/** An image build that failed: the failing step (`step 4/7: RUN npm ci`) and the last lines of its output. */
export class BuildFailedError extends DockhandError {
  readonly step: string | undefined;
  readonly output: readonly string[];

  constructor(message: string, step: string | undefined, output: readonly string[], hint?: string) {
    super('docker', message, hint === undefined ? {} : { hint });
    this.name = 'BuildFailedError';
    this.step = step;
    this.output = output;
  }
}

/** A Docker-host deployment whose new container never became healthy: its last log lines, the old one kept. */
export class HostDeployError extends DockhandError {
  readonly logLines: readonly string[];

  constructor(message: string, logLines: readonly string[], options: DockhandErrorOptions = {}) {
    super('docker', message, options);
    this.name = 'HostDeployError';
    this.logLines = logLines;
  }
}

/**
 * A failure in words a channel may read: an AWS error's code and hint only (AWS's own message can name the account
 * and the role: `User: arn:aws:sts::<account>:assumed-role/…`), a DockhandError's message and hint. The whole error
 * belongs in the log.
 */
export const reasonForChannel = (error: unknown): string => {
  if (error instanceof AwsError) return error.hint ? `${error.awsCode}. ${error.hint}` : `${error.awsCode}.`;
  if (error instanceof DockhandError) return error.hint ? `${error.message} ${error.hint}` : error.message;
  return 'dockhand failed unexpectedly; the details are in its log.';
};
