import { closest } from '../config/load.ts';
import { UsageError } from '../errors.ts';
import { parseDuration } from './duration.ts';
import { type CommandName, DOCKHAND_SUBCOMMANDS, usageOf } from './usage.ts';

/**
 * The slash-command grammar of DESIGN.md §2.2, as pure functions from the command text to a typed request.
 * Anything that does not parse throws a UsageError carrying the usage line; nothing unparsed starts work.
 */

export interface DeployRequest {
  service: string;
  env?: string | undefined;
  ref?: string | undefined;
  imageTag?: string | undefined;
  restart: boolean;
  dryRun: boolean;
  /** Break-glass reason (`--emergency <reason>`): during a freeze or outside the windows. */
  emergency?: string | undefined;
}
/** `/promote <service> [from <env>] to <env>`: the digest running in `from` (omitted: the environment listed just
 * before `to` in dockhand.yml, resolved by the command) deployed to `to`. */
export interface PromoteRequest {
  service: string;
  from?: string | undefined;
  to: string;
  dryRun: boolean;
  emergency?: string | undefined;
}
export interface RollbackRequest {
  service: string;
  env?: string | undefined;
  revision?: number | undefined;
  emergency?: string | undefined;
}
/** `/scale api 4` (a count) or `/scale api 2..8` (the auto scaling bounds, min..max). */
export type ScaleRequest = {
  service: string;
  env?: string | undefined;
  emergency?: string | undefined;
} & ({ count: number; bounds?: undefined } | { bounds: { min: number; max: number }; count?: undefined });
export interface StatusRequest {
  service?: string | undefined;
  env?: string | undefined;
}
export interface LogsRequest {
  service: string;
  env?: string | undefined;
  sinceMs: number;
  grep?: string | undefined;
}
export type DockhandRequest =
  | { sub: 'help' }
  | { sub: 'lock'; service: string; env?: string | undefined; reason?: string | undefined }
  | { sub: 'unlock' | 'history' | 'ips'; service: string; env?: string | undefined }
  /** Without an environment: list the freezes in force. */
  | { sub: 'freeze'; env?: undefined }
  | {
      sub: 'freeze';
      env: string;
      /** `for <duration>` (ms) or `until <time>` (read in the environment's time zone); neither: until unfrozen. */
      end?: { for: number } | { until: string } | undefined;
      reason?: string | undefined;
    }
  | { sub: 'unfreeze'; env: string };

export const DEFAULT_LOGS_SINCE_MS = 15 * 60_000;
export const MAX_LOGS_SINCE_MS = 24 * 3_600_000;

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** `image:sha256:<64 hex>`: a manifest digest, which the registries resolve as they resolve a tag (a CI trigger's
 * card offers it as the command to ask again). */
const IMAGE_DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * Slack escapes &, < and > in command text; links and mentions arrive as <…|label>. Most command text has neither
 * (`/status api`): it is returned as it is, without five passes of regular expressions before the ack.
 */
export const decodeSlackText = (text: string): string =>
  !text.includes('<') && !text.includes('&')
    ? text
    : text
        .replace(/<([^<>|]*)\|([^<>]*)>/g, '$2')
        .replace(/<([^<>]*)>/g, '$1')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&amp;/g, '&');

const tokenize = (text: string): string[] =>
  decodeSlackText(text)
    .replace(/[\u2013\u2014]/g, '--') // Slack clients turn "--" into an en or em dash
    .trim()
    .split(/\s+/)
    .filter((t) => t.length > 0);

/**
 * git's ref-name rules (git-check-ref-format), plus: nothing that starts with "-" (it would be read as an
 * option), so a ref can be passed to git safely.
 */
export const isValidGitRef = (ref: string): boolean => {
  if (ref.length === 0 || ref.length > 255) return false;
  if (ref.startsWith('-') || ref.startsWith('/') || ref.endsWith('/') || ref.endsWith('.')) return false;
  if (ref.includes('..') || ref.includes('@{') || ref.includes('//') || ref === '@') return false;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: git forbids control characters in refs
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return false;
  return ref.split('/').every((part) => part.length > 0 && !part.startsWith('.') && !part.endsWith('.lock'));
};

class Tokens {
  readonly command: CommandName;
  private readonly items: string[];
  private index = 0;

  constructor(command: CommandName, text: string) {
    this.command = command;
    this.items = tokenize(text);
  }

  fail(message: string): never {
    throw new UsageError(message, usageOf(this.command));
  }

  peek(): string | undefined {
    return this.items[this.index];
  }

  next(): string | undefined {
    const item = this.items[this.index];
    if (item !== undefined) this.index += 1;
    return item;
  }

  /** `--emergency <reason…>`: the rest of the text is the reason. */
  emergency(current: string | undefined): string {
    if (current !== undefined) this.fail('--emergency is given twice.');
    const reason = this.rest();
    if (reason.length === 0) this.fail('--emergency needs a reason after it, such as `--emergency checkout is down`.');
    if (reason.length > 300) this.fail('The emergency reason is longer than 300 characters.');
    return reason;
  }

  rest(): string {
    const rest = this.items.slice(this.index).join(' ');
    this.index = this.items.length;
    return rest;
  }

  service(required: true): string;
  service(required: false): string | undefined;
  service(required: boolean): string | undefined {
    const token = this.peek();
    if (token === undefined || isKeyword(token)) {
      if (required) this.fail('Which service? Name one.');
      return undefined;
    }
    this.next();
    if (!NAME.test(token)) this.fail(`“${token}” is not a service name.`);
    return token;
  }

  env(keyword: string, current: string | undefined): string {
    if (current !== undefined) this.fail(`The environment is given twice.`);
    const env = this.next();
    if (env === undefined) this.fail(`“${keyword}” needs an environment after it.`);
    if (!NAME.test(env)) this.fail(`“${env}” is not an environment name.`);
    return env;
  }
}

const ENV_KEYWORDS = new Set(['to', 'in']);
/** Keywords, options and subcommands are read whatever their case (`/dockhand HELP`, `TO production`); names,
 * refs, tags and grep text are not. */
const word = (token: string): string => token.toLowerCase();
const isEnvKeyword = (token: string): boolean => ENV_KEYWORDS.has(word(token));
const isKeyword = (token: string): boolean => isEnvKeyword(token) || token.startsWith('--');

export const parseDeploy = (text: string): DeployRequest => {
  const t: Tokens = new Tokens('deploy', text);
  const service = t.service(true);
  const request: DeployRequest = { service, restart: false, dryRun: false };
  for (let token = t.next(); token !== undefined; token = t.next()) {
    if (isEnvKeyword(token)) request.env = t.env(token, request.env);
    else if (word(token) === '--restart') request.restart = true;
    else if (word(token) === '--dry-run') request.dryRun = true;
    else if (word(token) === '--emergency') request.emergency = t.emergency(request.emergency);
    else if (token.startsWith('-')) t.fail(`Unknown option “${token}”.`);
    else if (request.ref !== undefined || request.imageTag !== undefined) t.fail(`Unexpected “${token}”.`);
    else if (word(token).startsWith('image:')) {
      const tag = token.slice('image:'.length);
      if (word(tag).startsWith('sha256:') && !IMAGE_DIGEST.test(tag))
        t.fail(`“${tag}” is not a valid image digest: sha256: and 64 lower-case hex digits.`);
      if (!IMAGE_TAG.test(tag) && !IMAGE_DIGEST.test(tag)) t.fail(`“${tag}” is not a valid image tag.`);
      request.imageTag = tag;
    } else {
      if (!isValidGitRef(token)) t.fail(`“${token}” is not a valid git ref.`);
      request.ref = token;
    }
  }
  if (request.restart && (request.ref !== undefined || request.imageTag !== undefined))
    t.fail('--restart redeploys what is running: it takes no ref or image.');
  return request;
};

export const parsePromote = (text: string): PromoteRequest => {
  const t: Tokens = new Tokens('promote', text);
  const service = t.service(true);
  let from: string | undefined;
  let to: string | undefined;
  let dryRun = false;
  let emergency: string | undefined;
  for (let token = t.next(); token !== undefined; token = t.next()) {
    if (word(token) === 'from') {
      if (from !== undefined) t.fail('The source environment is given twice.');
      from = t.env(token, undefined);
    } else if (word(token) === 'to') {
      if (to !== undefined) t.fail('The target environment is given twice.');
      to = t.env(token, undefined);
    } else if (word(token) === '--dry-run') dryRun = true;
    else if (word(token) === '--emergency') emergency = t.emergency(emergency);
    else if (token.startsWith('-')) t.fail(`Unknown option “${token}”.`);
    else t.fail(`Unexpected “${token}”: say \`from <env>\` and \`to <env>\`.`);
  }
  if (to === undefined) t.fail('Promote to which environment? Say `to <env>`, such as `to production`.');
  if (from === to) t.fail(`\`${to}\` is both the source and the target: promote from one environment to another.`);
  return {
    service,
    to,
    dryRun,
    ...(from === undefined ? {} : { from }),
    ...(emergency === undefined ? {} : { emergency }),
  };
};

export const parseRollback = (text: string): RollbackRequest => {
  const t: Tokens = new Tokens('rollback', text);
  const request: RollbackRequest = { service: t.service(true) };
  for (let token = t.next(); token !== undefined; token = t.next()) {
    if (isEnvKeyword(token)) request.env = t.env(token, request.env);
    else if (word(token) === '--emergency') request.emergency = t.emergency(request.emergency);
    else if (request.revision === undefined && /^\d{1,9}$/.test(token)) {
      request.revision = Number(token);
      if (request.revision < 1) t.fail('Revisions start at 1.');
    } else t.fail(`Unexpected “${token}”: a revision is a whole number, such as 41.`);
  }
  return request;
};

export const parseScale = (text: string): ScaleRequest => {
  const t: Tokens = new Tokens('scale', text);
  const service = t.service(true);
  let count: number | undefined;
  let bounds: { min: number; max: number } | undefined;
  let env: string | undefined;
  let emergency: string | undefined;
  for (let token = t.next(); token !== undefined; token = t.next()) {
    if (isEnvKeyword(token)) env = t.env(token, env);
    else if (word(token) === '--emergency') emergency = t.emergency(emergency);
    else if (count === undefined && bounds === undefined) {
      const range = /^(\d{1,6})\.\.(\d{1,6})$/.exec(token);
      if (range) {
        bounds = { min: Number(range[1]), max: Number(range[2]) };
        if (bounds.min > bounds.max) t.fail(`“${token}”: the minimum comes first, such as 2..8.`);
      } else if (/^\d{1,6}$/.test(token)) count = Number(token);
      else
        t.fail(`“${token}” is not a task count: give a whole number such as 4, or auto scaling bounds such as 2..8.`);
    } else t.fail(`Unexpected “${token}”.`);
  }
  const rest = { env, ...(emergency === undefined ? {} : { emergency }) };
  if (bounds !== undefined) return { service, ...rest, bounds };
  if (count === undefined) t.fail('How many tasks? Give a whole number, or auto scaling bounds such as 2..8.');
  return { service, env, count, ...(emergency === undefined ? {} : { emergency }) };
};

export const parseStatus = (text: string): StatusRequest => {
  const t: Tokens = new Tokens('status', text);
  const request: StatusRequest = { service: t.service(false) };
  for (let token = t.next(); token !== undefined; token = t.next()) {
    if (isEnvKeyword(token)) request.env = t.env(token, request.env);
    else t.fail(`Unexpected “${token}”.`);
  }
  if (request.env !== undefined && request.service === undefined)
    t.fail('Name the service whose environment you mean.');
  return request;
};

export const parseLogs = (text: string): LogsRequest => {
  const t: Tokens = new Tokens('logs', text);
  const request: LogsRequest = { service: t.service(true), sinceMs: DEFAULT_LOGS_SINCE_MS };
  let since: string | undefined;
  for (let token = t.next(); token !== undefined; token = t.next()) {
    if (isEnvKeyword(token)) request.env = t.env(token, request.env);
    else if (word(token) === 'since' && since === undefined) {
      since = t.next();
      const ms = since === undefined ? undefined : parseDuration(since);
      if (ms === undefined || ms <= 0) t.fail('“since” needs a duration such as 30s, 15m or 2h.');
      if (ms > MAX_LOGS_SINCE_MS) t.fail('“since” goes back 24h at most.');
      request.sinceMs = ms;
    } else if (word(token) === 'grep') {
      const text = t.rest();
      if (text.length === 0) t.fail('“grep” needs the text to look for.');
      request.grep = text;
    } else t.fail(`Unexpected “${token}”.`);
  }
  return request;
};

export const parseDockhand = (text: string): DockhandRequest => {
  const t: Tokens = new Tokens('dockhand', text);
  const sub = word(t.next() ?? 'help');
  if (!Object.hasOwn(DOCKHAND_SUBCOMMANDS, sub)) {
    const suggestion = closest(sub, Object.keys(DOCKHAND_SUBCOMMANDS));
    t.fail(`Unknown subcommand “${sub}”.${suggestion === undefined ? '' : ` Did you mean “${suggestion}”?`}`);
  }
  if (sub === 'help') {
    if (t.peek() !== undefined) t.fail(`Unexpected “${t.peek()}”.`);
    return { sub: 'help' };
  }
  if (sub === 'freeze' || sub === 'unfreeze') return parseFreeze(t, sub);
  const service = t.service(true);
  let env: string | undefined;
  const reason: string[] = [];
  for (let token = t.next(); token !== undefined; token = t.next()) {
    if (isEnvKeyword(token) && env === undefined && reason.length === 0) env = t.env(token, env);
    else if (sub === 'lock') reason.push(token, ...t.rest().split(' ').filter(Boolean));
    else t.fail(`Unexpected “${token}”.`);
  }
  if (sub === 'lock') return { sub, service, env, reason: reason.length > 0 ? reason.join(' ') : undefined };
  return { sub: sub as 'unlock' | 'history' | 'ips', service, env };
};

/** `freeze [<env> [for <duration> | until <time>] [reason…]]`, `unfreeze <env>`. */
const parseFreeze = (t: Tokens, sub: 'freeze' | 'unfreeze'): DockhandRequest => {
  const first = t.next();
  if (first === undefined) {
    if (sub === 'unfreeze') t.fail('Which environment? Name one: `/dockhand unfreeze production`.');
    return { sub: 'freeze' };
  }
  const env = isEnvKeyword(first) ? t.env(first, undefined) : first;
  if (!NAME.test(env)) t.fail(`“${env}” is not an environment name.`);
  if (sub === 'unfreeze') {
    if (t.peek() !== undefined) t.fail(`Unexpected “${t.peek()}”.`);
    return { sub, env };
  }
  let end: { for: number } | { until: string } | undefined;
  const keyword = word(t.peek() ?? '');
  if (keyword === 'for') {
    t.next();
    const ms = parseDuration(t.next() ?? '');
    if (ms === undefined || ms <= 0) t.fail('“for” needs a duration such as 30m, 4h or 3d.');
    if (ms > MAX_FREEZE_MS) t.fail('A freeze lasts 90 days at most.');
    end = { for: ms };
  } else if (keyword === 'until') {
    t.next();
    let until = t.next();
    if (until === undefined) t.fail('“until” needs a time such as `2026-12-24 18:00` or `18:00`.');
    const time = t.peek();
    if (/^\d{4}-\d{2}-\d{2}$/.test(until) && time !== undefined && /^\d{2}:\d{2}$/.test(time)) {
      until = `${until} ${time}`;
      t.next();
    }
    end = { until };
  }
  const reason = t.rest();
  if (reason.length > 300) t.fail('The reason is longer than 300 characters.');
  return { sub, env, end, reason: reason.length > 0 ? reason : undefined };
};

/** The longest freeze `for` accepts. */
export const MAX_FREEZE_MS = 90 * 86_400_000;
