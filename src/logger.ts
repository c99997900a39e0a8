import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Token-shaped strings are masked wherever they appear in a log line or a Slack message: Slack tokens,
 * AWS secret keys, registry auth headers. Keys named like secrets are masked by path as well.
 */
const SECRET_PATTERNS: readonly RegExp[] = [
  /\bxox[abposre]-[A-Za-z0-9-]{8,}/g,
  /\bxapp-[A-Za-z0-9-]{8,}/g,
  /\b(Basic|Bearer)\s+[A-Za-z0-9+/=._-]{8,}/g,
  /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g,
  // `secret`/`password` may carry a suffix (AWS_SECRET_ACCESS_KEY, secretAccessKey, SECRET_KEY); `auth`/`token` may not
  // (author, tokenizer).
  /("?(?:(?:password|passwd|secret)[a-z0-9_-]*|token|auth|authorization|api[_-]?key)"?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi,
];

export const maskSecrets = (text: string): string => {
  let out = text;
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match, prefix: unknown) =>
      typeof prefix === 'string' && /[:=]\s*$/.test(prefix) ? `${prefix}[REDACTED]` : '[REDACTED]',
    );
  }
  return out;
};

const REDACT_PATHS = [
  'token',
  'password',
  'secret',
  'signingSecret',
  'authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.signingSecret',
  '*.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'req.headers["x-slack-signature"]',
  'auth.password',
  'authconfig.password',
  '*.authconfig.password',
];

const maskDeep = (value: unknown, depth = 0): unknown => {
  if (typeof value === 'string') return maskSecrets(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, depth + 1);
  return out;
};

export const createLogger = (level: string, destination?: DestinationStream): Logger =>
  pino(
    {
      level,
      base: { app: 'dockhand' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      formatters: { level: (label) => ({ level: label }), log: (obj) => maskDeep(obj) as Record<string, unknown> },
      serializers: {
        err: (e: unknown) => {
          const s = pino.stdSerializers.err(e as Error) as unknown as Record<string, unknown>;
          return maskDeep(s) as Record<string, unknown>;
        },
      },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a)) as Parameters<typeof method>;
          method.apply(this, masked);
        },
      },
    },
    destination,
  );

const toBoltLevel: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
  error: LogLevel.ERROR,
  fatal: LogLevel.ERROR,
};

/** Bolt and the Web API client log through our pino logger (so their lines are JSON and masked too). */
export const slackLogger = (logger: Logger): SlackLogger => {
  const child = logger.child({ component: 'slack' });
  const line = (msgs: unknown[]) => msgs.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ');
  return {
    debug: (...m: unknown[]) => child.debug(line(m)),
    info: (...m: unknown[]) => child.info(line(m)),
    warn: (...m: unknown[]) => child.warn(line(m)),
    error: (...m: unknown[]) => child.error(line(m)),
    setLevel: () => {},
    getLevel: () => toBoltLevel[logger.level] ?? LogLevel.INFO,
    setName: () => {},
  };
};
