import { LogLevel, type Logger as SlackLogger } from '@slack/bolt';
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Secrets are masked wherever they appear in a log line or a Slack message, in two ways:
 * - the values this process knows (registry passwords, Slack and AWS credentials), set once at start-up by the
 *   composition root with `maskKnownSecrets`, even as bare values;
 * - common shapes: Slack tokens and webhook URLs, AWS access key ids, GitHub tokens, private-key blocks,
 *   `Bearer`/`Basic` credentials, passwords in URLs, and values of keys named like secrets.
 */
const REDACTED = '[REDACTED]';

/** Known values shorter than this are not masked as bare values: "admin" or "test" would hide ordinary words. */
export const MIN_KNOWN_SECRET_LENGTH = 6;

let knownSecrets: readonly string[] = [];

/**
 * From now on, mask these values wherever they appear (every log line, every Slack text). Replaces the previous
 * set; values shorter than MIN_KNOWN_SECRET_LENGTH are left to the shape rules. Longest first, so a value that
 * contains another is masked whole.
 */
export const maskKnownSecrets = (values: Iterable<string | undefined>): void => {
  const kept = new Set<string>();
  for (const value of values) if (value !== undefined && value.length >= MIN_KNOWN_SECRET_LENGTH) kept.add(value);
  knownSecrets = [...kept].sort((a, b) => b.length - a.length);
};

const SECRET_PATTERNS: readonly [RegExp, string][] = [
  // A whole private key, or from its first line to the end when the text was cut before its last.
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, REDACTED],
  // Slack tokens even when glued to a word (a log line "tokenxoxb-…" or a name pasted into another).
  [/xox[abposre]-[A-Za-z0-9-]{8,}/g, REDACTED],
  [/xapp-[A-Za-z0-9-]{8,}/g, REDACTED],
  [/\bhooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]+/g, REDACTED],
  [/\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})/g, REDACTED],
  [/\bBasic\s+[A-Za-z0-9+/=._-]{8,}/g, REDACTED],
  [/\bBearer\s+[A-Za-z0-9+/=._~-]{8,}/gi, REDACTED],
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, REDACTED],
  // A password in a URL (https://user:password@host): the user stays, so the reader knows which account.
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s/@]+@/gi, `$1${REDACTED}@`],
  // `secret`/`password` may carry a suffix (AWS_SECRET_ACCESS_KEY, secretAccessKey, SECRET_KEY); `auth`/`token` may not
  // (author, tokenizer).
  [
    /("?(?:(?:password|passwd|secret)[a-z0-9_-]*|token|auth|authorization|api[_-]?key)"?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi,
    `$1${REDACTED}`,
  ],
];

export const maskSecrets = (text: string): string => {
  let out = text;
  for (const value of knownSecrets) if (out.includes(value)) out = out.split(value).join(REDACTED);
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
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
      redact: { paths: REDACT_PATHS, censor: REDACTED },
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
    // Bolt writes debug lines on every request (two per ack, their text built by Bolt already); only the level is
    // checked here before joining and serializing their parts.
    debug: (...m: unknown[]) => {
      if (child.isLevelEnabled('debug')) child.debug(line(m));
    },
    info: (...m: unknown[]) => child.info(line(m)),
    warn: (...m: unknown[]) => child.warn(line(m)),
    error: (...m: unknown[]) => child.error(line(m)),
    setLevel: () => {},
    getLevel: () => toBoltLevel[logger.level] ?? LogLevel.INFO,
    setName: () => {},
  };
};
