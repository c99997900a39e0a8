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
 * `action` is dockhand's phrase (`update service api in cluster prod`); `awsCode` is the SDK exception name
 * (AccessDeniedException, ServiceNotFoundException, ThrottlingException…). `message` also carries AWS's own text,
 * for the log: see `reasonForChannel` for what a channel may read.
 */
export class AwsError extends DockhandError {
  readonly action: string;
  readonly awsCode: string;

  constructor(action: string, cause: unknown, hint?: string) {
    const awsCode = errorName(cause);
    super('aws', `${action}: ${awsCode}: ${errorMessage(cause)}`, {
      cause,
      hint: hint ?? awsHint(awsCode, errorMessage(cause)),
    });
    this.name = 'AwsError';
    this.action = action;
    this.awsCode = awsCode;
  }
}

/** One entry of an ECS answer's `failures` (DescribeServices, DescribeTasks…): its `arn` names the account. */
export interface EcsFailure {
  arn?: string | undefined;
  reason?: string | undefined;
  detail?: string | undefined;
}

/** ECS's reason codes read like MISSING, INACTIVE or RESOURCE:MEMORY; a reason of any other shape is not shown. */
const ECS_REASON_CODE = /^[A-Z][A-Z0-9_]{0,39}(?::[A-Z0-9_]{1,40})?$/;

/**
 * ECS's word about one resource in an answer that otherwise succeeded (an entry of `failures`), in words a channel may
 * read: `action` is dockhand's phrase with the names from dockhand.yml (`describe service api in cluster prod`), then
 * ECS's reason code. The entry itself (its ARN names the account; its `detail` is ECS's own text) is `failure`, which
 * the log's error serializer writes out whole.
 */
export class EcsFailureError extends DockhandError {
  readonly action: string;
  readonly failure: EcsFailure;

  constructor(action: string, failure: EcsFailure, options: { code?: ErrorCode; hint?: string } = {}) {
    const reason = failure.reason !== undefined && ECS_REASON_CODE.test(failure.reason) ? failure.reason : undefined;
    super(
      options.code ?? 'aws',
      `${action}: ${reason ? `ECS answered ${reason}` : 'ECS answered with a failure (the details are in dockhand’s log)'}`,
      options.hint === undefined ? {} : { hint: options.hint },
    );
    this.name = 'EcsFailureError';
    this.action = action;
    this.failure = { arn: failure.arn, reason: failure.reason, detail: failure.detail };
  }
}

/** An AWS SDK exception that no AwsError wraps yet: the SDK gives each one `$metadata` (the request id, status). */
const isAwsException = (e: unknown): e is Error => e instanceof Error && '$metadata' in e;

/** AWS's ways of saying the caller lacks a permission. */
export const isAccessDenied = (code: string): boolean =>
  code === 'AccessDeniedException' || code === 'UnauthorizedOperation' || code === 'AccessDenied';

/** The IAM action a refusal names (`… is not authorized to perform: ecs:UpdateService on resource …`), if it does. */
const deniedPermission = (awsMessage: string): string | undefined =>
  /not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9*]+)/.exec(awsMessage)?.[1];

const awsHint = (code: string, awsMessage: string): string | undefined => {
  if (isAccessDenied(code)) {
    const permission = deniedPermission(awsMessage);
    return permission
      ? `dockhand’s IAM role lacks ${permission}: see “IAM policy” in the README.`
      : 'dockhand’s IAM role lacks a permission: see “IAM policy” in the README.';
  }
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
 * What failed, in words a channel may read, without the hint: an AWS error's action and code only (AWS's own message
 * can name the account and the role: `User: arn:aws:sts::<account>:assumed-role/…`), a DockhandError's message, any
 * other error's message. For places that show the hint apart, or none; the whole error belongs in the log.
 */
export const messageForChannel = (error: unknown): string => {
  if (error instanceof AwsError) return `${error.action}: ${error.awsCode}`;
  if (error instanceof DockhandError) return error.message;
  if (isAwsException(error)) return `AWS answered ${errorName(error)}`;
  return errorMessage(error);
};

/**
 * A failure in words a channel may read, with its remedy: an AWS error's action, code and hint (never AWS's own
 * message), a DockhandError's message and hint; anything else is not shown. The whole error belongs in the log.
 */
export const reasonForChannel = (error: unknown): string => {
  if (error instanceof AwsError)
    return error.hint ? `${messageForChannel(error)}. ${error.hint}` : `${messageForChannel(error)}.`;
  if (error instanceof DockhandError) return error.hint ? `${error.message} ${error.hint}` : error.message;
  return 'dockhand failed unexpectedly; the details are in its log.';
};

/**
 * A failure on a line with no place of its own for a remedy (a watch alert, a status row): messageForChannel, with an
 * AWS error's hint (the missing permission). Other errors read as their message, as they always have.
 */
export const failureLineForChannel = (error: unknown): string =>
  error instanceof AwsError ? reasonForChannel(error) : messageForChannel(error);
