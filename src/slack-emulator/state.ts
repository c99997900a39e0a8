/**
 * In-memory Slack workspace: the state behind the Web API emulator (web-api.ts) and the signed request
 * client (requests.ts). Product code: used by the test suite and by the local console.
 *
 * All Web API semantics live in `SlackEmulatorState.invoke()` (transport-independent); the HTTP layer only
 * parses requests and serialises results.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type Block, parseJsonArg, validateMessageContent, validateModalView } from './validation.ts';

export type { Block } from './validation.ts';

export type Args = Record<string, unknown>;

export interface SlackTeam {
  id: string;
  domain: string;
  name: string;
}

export interface SlackBotIdentity {
  userId: string;
  botId: string;
  appId: string;
  name: string;
}

export interface SlackUser {
  id: string;
  team_id: string;
  name: string;
  real_name: string;
  deleted: boolean;
  is_bot: boolean;
  is_admin: boolean;
  tz: string;
  tz_label: string;
  tz_offset: number;
  profile: { real_name: string; display_name: string; email?: string };
}

export interface AddUserInput {
  id: string;
  name: string;
  real_name?: string;
  display_name?: string;
  email?: string;
  tz?: string;
  tz_label?: string;
  tz_offset?: number;
  is_bot?: boolean;
  is_admin?: boolean;
  deleted?: boolean;
}

export interface SlackUsergroup {
  id: string;
  handle: string;
  name: string;
  users: string[];
}

export interface SlackChannel {
  id: string;
  name: string;
  is_channel: boolean;
  is_private: boolean;
  is_im: boolean;
  created: number;
  /** For IM channels: the other user. */
  user?: string;
}

export interface MessageVersion {
  text: string;
  blocks: Block[];
  attachments: unknown[];
  /** ms since epoch */
  at: number;
  /** 'chat.postMessage', 'chat.update', 'response_url', ... */
  via: string;
}

export interface StoredMessage {
  type: 'message';
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks: Block[];
  attachments: unknown[];
  /** The bot user that posted it (or the user a response_url belongs to, for in_channel responses). */
  user: string;
  bot_id: string;
  app_id: string;
  team: string;
  files?: Array<{ id: string; name: string; title: string }>;
  metadata?: unknown;
  edited?: { user: string; ts: string };
  deleted: boolean;
  /** Every version, oldest first; the last one is the current content. */
  history: MessageVersion[];
}

export interface EphemeralMessage {
  channel: string;
  /** The only user who sees it. */
  user: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks: Block[];
  attachments: unknown[];
  deleted: boolean;
  history: MessageVersion[];
}

export interface StoredFile {
  id: string;
  name: string;
  title: string;
  alt_text?: string;
  snippet_type?: string;
  /** Declared length (files.getUploadURLExternal). */
  length: number;
  size: number;
  mimetype: string;
  filetype: string;
  content?: Buffer;
  uploaded: boolean;
  completed: boolean;
  channels: string[];
  initial_comment?: string;
  thread_ts?: string;
  created: number;
  uploadToken: string;
}

export interface RecordedCall {
  seq: number;
  /** Web API method, or 'response_url' / 'upload_url'. */
  method: string;
  /** Parsed arguments (JSON-encoded form fields such as blocks are parsed back to objects); no token. */
  args: Args;
  /** ms since epoch */
  at: number;
  status: number;
  response: Args;
}

export interface ResponseUrlSource {
  kind: 'message' | 'ephemeral';
  channel: string;
  ts: string;
}

export interface ResponseUrlContext {
  id: string;
  channel: string;
  user: string;
  /** The message that held the clicked element (block_actions); absent for slash commands. */
  source?: ResponseUrlSource;
  createdAt: number;
  uses: number;
  /** Last message posted through this response_url (used by replace_original when there is no source). */
  last?: ResponseUrlSource;
}

export interface SlackEmulatorOptions {
  /** Accepted tokens. Default: any token that looks like a Slack token (`xoxb-`, `xoxp-`, `xoxa-`, `xoxe-`). */
  tokens?: string[];
  /** Accepted app-level tokens (`apps.connections.open`). Default: any token that looks like one (`xapp-`). */
  appTokens?: string[];
  team?: Partial<SlackTeam>;
  bot?: Partial<SlackBotIdentity>;
  /** Clock (ms since epoch). */
  now?: () => number;
  /** Times a response_url may be used (Slack: 5). */
  responseUrlMaxUses?: number;
  /** Lifetime of a response_url in ms (Slack: 30 minutes). */
  responseUrlTtlMs?: number;
  /** Lifetime of a trigger_id in ms (Slack: 3 s). */
  triggerTtlMs?: number;
  /** Base URL the emulator is reachable at (used to build upload and response URLs). */
  baseUrl?: string;
}

export interface InvokeResult {
  status: number;
  body: Args;
  headers: Record<string, string>;
}

interface RateLimitRule {
  /** Answer 429 to the next `remaining` calls. */
  remaining: number;
  retryAfter: number;
  /** Sliding one-minute window limit; calls beyond it get 429. */
  perMinute?: number;
  window: number[];
}

interface Fault {
  remaining: number;
  error: string;
  status: number;
}

interface Trigger {
  /** Who the request that issued it came from: the person a view opened with it is shown to. */
  user?: string | undefined;
  issuedAt: number;
  used: boolean;
}

type Handler = (args: Args, ctx: { token: string }) => Args | Promise<Args>;

/** Issues Socket Mode WebSocket URLs: the Socket Mode emulator (socket-mode.ts) attaches itself as one. */
export interface SocketModeUrlIssuer {
  /** A single-use `ws://…/link?ticket=…` URL for a connection made with `appToken`. */
  issueUrl(appToken: string): string;
}

/** Methods that take an app-level token (`xapp-`) instead of a bot or user token. */
const APP_TOKEN_METHODS = new Set(['apps.connections.open']);

const DEFAULT_TEAM: SlackTeam = { id: 'T0DOCKHAND', domain: 'dockhand-local', name: 'Dockhand Local' };
const DEFAULT_BOT: SlackBotIdentity = {
  userId: 'U0DOCKBOT',
  botId: 'B0DOCKBOT',
  appId: 'A0DOCKHAND',
  name: 'dockhand',
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function stableId(prefix: string, seed: string): string {
  return prefix + createHash('sha256').update(seed).digest('hex').slice(0, 10).toUpperCase();
}

function fail(error: string, extra: Args = {}): Args {
  return { ok: false, error, ...extra };
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function truthy(v: unknown): boolean {
  return v === true || v === 'true' || v === '1' || v === 1;
}

function clip(value: unknown, max = 300): string {
  let s: string;
  try {
    s = JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > max ? `${s.slice(0, max)}…(${s.length} chars)` : s;
}

const MIME: Record<string, string> = {
  txt: 'text/plain',
  log: 'text/plain',
  json: 'application/json',
  yml: 'text/plain',
  yaml: 'text/plain',
  csv: 'text/csv',
  png: 'image/png',
  jpg: 'image/jpeg',
  gif: 'image/gif',
  pdf: 'application/pdf',
  gz: 'application/gzip',
};

/** Argument names that carry JSON when form-encoded (the official client JSON-stringifies non-scalars). */
export const JSON_ARGS = ['blocks', 'attachments', 'files', 'view', 'metadata', 'file_uploads'] as const;

export class SlackEmulatorState {
  readonly team: SlackTeam;
  readonly bot: SlackBotIdentity;
  baseUrl: string | undefined;
  /** Set by the Socket Mode emulator; without one, `apps.connections.open` answers `socket_mode_not_enabled`. */
  socketMode: SocketModeUrlIssuer | undefined;

  private readonly options: SlackEmulatorOptions;
  private readonly now: () => number;
  private readonly handlers: Map<string, Handler>;

  private callLog: RecordedCall[] = [];
  private seq = 0;
  private lastTsMicros = 0;
  private readonly messageMap = new Map<string, StoredMessage>();
  private ephemeralList: EphemeralMessage[] = [];
  private readonly fileMap = new Map<string, StoredFile>();
  private readonly responseUrls = new Map<string, ResponseUrlContext>();
  private readonly triggers = new Map<string, Trigger>();
  /** The user each view was opened for (from its trigger), when the trigger named one. */
  private readonly viewOwners = new Map<string, string>();
  private readonly rateLimits = new Map<string, RateLimitRule>();
  private readonly latencies = new Map<string, number>();
  private readonly slowCalls = new Map<string, { remaining: number; ms: number }>();
  private readonly faults = new Map<string, Fault>();
  private readonly views: Args[] = [];
  private readonly listeners = new Set<() => void>();

  private readonly userMap = new Map<string, SlackUser>();
  private readonly usergroupMap = new Map<string, SlackUsergroup>();
  private readonly channelMap = new Map<string, SlackChannel>();

  constructor(options: SlackEmulatorOptions = {}) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.team = { ...DEFAULT_TEAM, ...options.team };
    this.bot = { ...DEFAULT_BOT, ...options.bot };
    this.baseUrl = options.baseUrl;
    this.handlers = new Map<string, Handler>([
      ['api.test', (args) => ({ ok: true, args })],
      ['auth.test', () => this.authTest()],
      ['chat.postMessage', (args) => this.chatPostMessage(args)],
      ['chat.update', (args) => this.chatUpdate(args)],
      ['chat.postEphemeral', (args) => this.chatPostEphemeral(args)],
      ['chat.delete', (args) => this.chatDelete(args)],
      ['chat.getPermalink', (args) => this.chatGetPermalink(args)],
      ['users.info', (args) => this.usersInfo(args)],
      ['usergroups.users.list', (args) => this.usergroupsUsersList(args)],
      ['conversations.info', (args) => this.conversationsInfo(args)],
      ['files.getUploadURLExternal', (args) => this.filesGetUploadUrlExternal(args)],
      ['files.completeUploadExternal', (args) => this.filesCompleteUploadExternal(args)],
      ['views.open', (args) => this.viewsOpen(args)],
      ['views.update', (args) => this.viewsUpdate(args)],
      ['apps.connections.open', (_args, ctx) => this.appsConnectionsOpen(ctx.token)],
    ]);
    this.seedDirectory();
  }

  private seedDirectory(): void {
    this.addUser({ id: this.bot.userId, name: this.bot.name, real_name: this.bot.name, is_bot: true });
  }

  // ---------------------------------------------------------------------------------------------
  // Seeding
  // ---------------------------------------------------------------------------------------------

  addUser(input: AddUserInput): SlackUser {
    const realName = input.real_name ?? input.name;
    const user: SlackUser = {
      id: input.id,
      team_id: this.team.id,
      name: input.name,
      real_name: realName,
      deleted: input.deleted ?? false,
      is_bot: input.is_bot ?? false,
      is_admin: input.is_admin ?? false,
      tz: input.tz ?? 'Europe/London',
      tz_label: input.tz_label ?? 'Greenwich Mean Time',
      tz_offset: input.tz_offset ?? 0,
      profile: {
        real_name: realName,
        display_name: input.display_name ?? input.name,
        ...(input.email !== undefined ? { email: input.email } : {}),
      },
    };
    this.userMap.set(user.id, user);
    this.changed();
    return user;
  }

  addUsergroup(id: string, userIds: string[], opts: { handle?: string; name?: string } = {}): SlackUsergroup {
    const group: SlackUsergroup = {
      id,
      handle: opts.handle ?? id.toLowerCase(),
      name: opts.name ?? opts.handle ?? id,
      users: [...userIds],
    };
    this.usergroupMap.set(id, group);
    this.changed();
    return group;
  }

  addChannel(input: { id?: string; name: string; is_private?: boolean }): SlackChannel {
    const name = input.name.replace(/^#/, '');
    const channel: SlackChannel = {
      id: input.id ?? stableId('C', name),
      name,
      is_channel: true,
      is_private: input.is_private ?? false,
      is_im: false,
      created: Math.floor(this.now() / 1000),
    };
    this.channelMap.set(channel.id, channel);
    this.changed();
    return channel;
  }

  get users(): SlackUser[] {
    return [...this.userMap.values()];
  }

  get usergroups(): SlackUsergroup[] {
    return [...this.usergroupMap.values()];
  }

  get channels(): SlackChannel[] {
    return [...this.channelMap.values()];
  }

  user(id: string): SlackUser | undefined {
    return this.userMap.get(id);
  }

  channel(idOrName: string): SlackChannel | undefined {
    return this.resolveChannel(idOrName, false);
  }

  /**
   * Resolves a channel argument as chat.postMessage does: an ID (C…, G…, D…), a name with or without `#`,
   * or a user ID (U…/W…, which opens the IM with that user). With `create`, unknown channels are created
   * with a stable ID derived from the name.
   */
  resolveChannel(ref: string, create = true): SlackChannel | undefined {
    const value = ref.trim();
    if (value === '') return undefined;
    if (/^[CGD][A-Z0-9]{2,}$/.test(value)) {
      const known = this.channelMap.get(value);
      if (known || !create) return known;
      const ch: SlackChannel = {
        id: value,
        name: value.toLowerCase(),
        is_channel: value.startsWith('C'),
        is_private: value.startsWith('G'),
        is_im: value.startsWith('D'),
        created: Math.floor(this.now() / 1000),
      };
      this.channelMap.set(value, ch);
      return ch;
    }
    if (/^[UW][A-Z0-9]{2,}$/.test(value)) {
      const id = stableId('D', value);
      const known = this.channelMap.get(id);
      if (known || !create) return known;
      const ch: SlackChannel = {
        id,
        name: id,
        is_channel: false,
        is_private: true,
        is_im: true,
        user: value,
        created: Math.floor(this.now() / 1000),
      };
      this.channelMap.set(id, ch);
      return ch;
    }
    const name = value.replace(/^#/, '');
    for (const ch of this.channelMap.values()) if (ch.name === name) return ch;
    return create ? this.addChannel({ name }) : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Fault injection
  // ---------------------------------------------------------------------------------------------

  /** The next `calls` calls of `method` answer HTTP 429 with `Retry-After: retryAfter`. */
  rateLimit(method: string, opts: { calls?: number; retryAfter?: number } = {}): void {
    const rule = this.rateLimits.get(method) ?? { remaining: 0, retryAfter: 1, window: [] };
    rule.remaining = opts.calls ?? 1;
    rule.retryAfter = opts.retryAfter ?? 1;
    this.rateLimits.set(method, rule);
  }

  /** Sliding-window limit: more than `perMinute` calls of `method` within 60 s answer 429. */
  limitPerMinute(method: string, perMinute: number, retryAfter = 1): void {
    const rule = this.rateLimits.get(method) ?? { remaining: 0, retryAfter, window: [] };
    rule.perMinute = perMinute;
    rule.retryAfter = retryAfter;
    this.rateLimits.set(method, rule);
  }

  clearRateLimits(method?: string): void {
    if (method) this.rateLimits.delete(method);
    else this.rateLimits.clear();
  }

  /** Artificial latency (ms) before answering `method` ('*' for every method). 0 removes it. */
  setLatency(method: string, ms: number): void {
    if (ms > 0) this.latencies.set(method, ms);
    else this.latencies.delete(method);
  }

  /**
   * The next `calls` calls of `method` take `ms` before they are carried out and answered. A client that gives up
   * sooner (its timeout) does not stop them: the call still lands, late, as on a slow Slack.
   */
  slowNext(method: string, ms: number, calls = 1): void {
    this.slowCalls.set(method, { remaining: calls, ms });
  }

  /** The next `calls` calls of `method` fail with `{ok:false, error}` (HTTP `status`, default 200). */
  failNext(method: string, error: string, opts: { calls?: number; status?: number } = {}): void {
    this.faults.set(method, { remaining: opts.calls ?? 1, error, status: opts.status ?? 200 });
  }

  // ---------------------------------------------------------------------------------------------
  // Inspection
  // ---------------------------------------------------------------------------------------------

  /** Recorded calls, oldest first; optionally only one method. */
  calls(method?: string): RecordedCall[] {
    return method ? this.callLog.filter((c) => c.method === method) : [...this.callLog];
  }

  /** Current messages (latest version of each, with `history`), oldest first. Deleted ones are left out. */
  messages(channel?: string, opts: { includeDeleted?: boolean } = {}): StoredMessage[] {
    const channelId = channel === undefined ? undefined : (this.resolveChannel(channel, false)?.id ?? channel);
    return [...this.messageMap.values()].filter(
      (m) => (channelId === undefined || m.channel === channelId) && (opts.includeDeleted || !m.deleted),
    );
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    const channelId = this.resolveChannel(channel, false)?.id ?? channel;
    return this.messageMap.get(`${channelId}/${ts}`);
  }

  /** Ephemeral messages, oldest first; optionally only those shown to `user`. */
  ephemerals(user?: string, opts: { includeDeleted?: boolean } = {}): EphemeralMessage[] {
    return this.ephemeralList.filter(
      (m) => (user === undefined || m.user === user) && (opts.includeDeleted || !m.deleted),
    );
  }

  /** Uploaded files (completed or not), oldest first. */
  files(): StoredFile[] {
    return [...this.fileMap.values()];
  }

  file(id: string): StoredFile | undefined {
    return this.fileMap.get(id);
  }

  /** Views opened with views.open, oldest first. */
  openedViews(): Args[] {
    return [...this.views];
  }

  responseUrl(id: string): ResponseUrlContext | undefined {
    return this.responseUrls.get(id);
  }

  /** Subscribes to every state change; returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves with the first truthy value `predicate` returns, re-evaluated after every state change.
   * Rejects after `timeoutMs` with a dump of the recent calls and messages.
   */
  waitFor<T>(
    predicate: (state: SlackEmulatorState) => T | undefined | null | false,
    timeoutMs = 5000,
    label = 'condition',
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const check = (): boolean => {
        if (done) return true;
        let value: T | undefined | null | false;
        try {
          value = predicate(this);
        } catch (err) {
          done = true;
          cleanup();
          reject(err);
          return true;
        }
        if (value) {
          done = true;
          cleanup();
          resolve(value);
          return true;
        }
        return false;
      };
      const unsubscribe = this.onChange(() => {
        check();
      });
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        cleanup();
        reject(new Error(`waitFor(${label}) timed out after ${timeoutMs} ms.\n${this.dump()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        unsubscribe();
      };
      check();
    });
  }

  /** Waits for a recorded call of `method` (matching `predicate`, if given) and returns it. */
  waitForCall(method: string, predicate?: (call: RecordedCall) => boolean, timeoutMs = 5000): Promise<RecordedCall> {
    return this.waitFor(
      (s) => s.calls(method).find((c) => !predicate || predicate(c)),
      timeoutMs,
      `call ${method}${predicate ? ' matching predicate' : ''}`,
    );
  }

  /** Waits for a current (non-deleted) message matching `predicate` and returns it. */
  waitForMessage(predicate: (m: StoredMessage) => boolean, timeoutMs = 5000): Promise<StoredMessage> {
    return this.waitFor((s) => s.messages().find(predicate), timeoutMs, 'message matching predicate');
  }

  /** Waits for an ephemeral message matching `predicate` and returns it. */
  waitForEphemeral(predicate: (m: EphemeralMessage) => boolean, timeoutMs = 5000): Promise<EphemeralMessage> {
    return this.waitFor((s) => s.ephemerals().find(predicate), timeoutMs, 'ephemeral matching predicate');
  }

  /** Human-readable summary of the recent calls and current messages (for failure messages). */
  dump(lastCalls = 20): string {
    const calls = this.callLog.slice(-lastCalls);
    const lines = [`Recent calls (${calls.length} of ${this.callLog.length}):`];
    for (const c of calls) {
      lines.push(
        `  #${c.seq} ${new Date(c.at).toISOString()} ${c.method} ${clip(c.args)} → ${c.status} ${clip(c.response, 200)}`,
      );
    }
    if (calls.length === 0) lines.push('  (none)');
    const msgs = this.messages();
    lines.push(`Messages (${msgs.length}):`);
    for (const m of msgs.slice(-10)) {
      lines.push(`  ${m.channel}/${m.ts} v${m.history.length} ${clip(m.text, 120)} blocks=${m.blocks.length}`);
    }
    const eph = this.ephemerals();
    lines.push(`Ephemerals (${eph.length}):`);
    for (const m of eph.slice(-10)) lines.push(`  ${m.channel} → ${m.user} ${clip(m.text, 120)}`);
    return lines.join('\n');
  }

  /**
   * Clears recorded calls, messages, ephemerals, files, views, response URLs, triggers and injected faults.
   * Seeded users, user groups and channels are kept unless `all` is set.
   */
  reset(opts: { all?: boolean } = {}): void {
    this.callLog = [];
    this.messageMap.clear();
    this.ephemeralList = [];
    this.fileMap.clear();
    this.responseUrls.clear();
    this.triggers.clear();
    this.viewOwners.clear();
    this.rateLimits.clear();
    this.latencies.clear();
    this.slowCalls.clear();
    this.faults.clear();
    this.views.length = 0;
    if (opts.all) {
      this.userMap.clear();
      this.usergroupMap.clear();
      this.channelMap.clear();
      this.seedDirectory();
    }
    this.changed();
  }

  // ---------------------------------------------------------------------------------------------
  // Request-side helpers (used by requests.ts)
  // ---------------------------------------------------------------------------------------------

  /** Registers a response_url for an interaction; returns its id (the URL is `${baseUrl}/response/${id}`). */
  createResponseUrl(ctx: { channel: string; user: string; source?: ResponseUrlSource }): string {
    const id = `${this.team.id}-${this.responseUrls.size + 1}-${randomBytes(9).toString('hex')}`;
    this.responseUrls.set(id, { id, ...ctx, createdAt: this.now(), uses: 0 });
    return id;
  }

  responseUrlFor(id: string): string {
    return `${this.requireBaseUrl()}/response/${id}`;
  }

  /** Issues a trigger_id (valid for views.open for `triggerTtlMs`, once). */
  issueTriggerId(user?: string): string {
    const id = `${Math.floor(this.now() / 1000)}.${this.team.id.slice(1)}.${randomBytes(16).toString('hex')}`;
    this.triggers.set(id, { issuedAt: this.now(), used: false, user });
    return id;
  }

  requireBaseUrl(): string {
    if (!this.baseUrl) throw new Error('SlackEmulatorState.baseUrl is not set (start the server or mount the handler)');
    return this.baseUrl;
  }

  // ---------------------------------------------------------------------------------------------
  // Web API entry point
  // ---------------------------------------------------------------------------------------------

  isValidToken(token: string): boolean {
    if (this.options.tokens) return this.options.tokens.includes(token);
    return /^xox[bpae]-[A-Za-z0-9-]+$/.test(token);
  }

  isValidAppToken(token: string): boolean {
    if (this.options.appTokens) return this.options.appTokens.includes(token);
    return /^xapp-[A-Za-z0-9-]+$/.test(token);
  }

  /**
   * Runs one Web API method as Slack would: auth, injected faults/rate limits, latency, the method itself;
   * the call is recorded. `token` is undefined when none was sent.
   */
  async invoke(method: string, rawArgs: Args, token: string | undefined): Promise<InvokeResult> {
    const args = normaliseArgs(rawArgs);
    const at = this.now();
    const slow = this.slowCalls.get(method);
    if (slow && slow.remaining > 0) {
      slow.remaining -= 1;
      if (slow.remaining === 0) this.slowCalls.delete(method);
      await sleep(slow.ms);
    }
    const latency = this.latencies.get(method) ?? this.latencies.get('*');
    if (latency) await sleep(latency);

    const result = await this.execute(method, args, token);
    this.record(method, args, result.status, result.body, at);
    return result;
  }

  private async execute(method: string, args: Args, token: string | undefined): Promise<InvokeResult> {
    const json = (body: Args, status = 200, headers: Record<string, string> = {}): InvokeResult => ({
      status,
      body,
      headers,
    });
    const rule = this.rateLimits.get(method);
    if (rule) {
      const t = this.now();
      let limited = false;
      if (rule.remaining > 0) {
        rule.remaining -= 1;
        limited = true;
      } else if (rule.perMinute !== undefined) {
        rule.window = rule.window.filter((w) => t - w < 60_000);
        if (rule.window.length >= rule.perMinute) limited = true;
        else rule.window.push(t);
      }
      if (limited) return json(fail('ratelimited'), 429, { 'retry-after': String(rule.retryAfter) });
    }
    const handler = this.handlers.get(method);
    if (!handler) return json(fail('unknown_method', { req_method: method }));
    if (method !== 'api.test') {
      if (!token) return json(fail('not_authed'));
      // A method for app-level tokens refuses a (valid) bot or user token and vice versa, as Slack does.
      const appLevel = APP_TOKEN_METHODS.has(method);
      const accepted = appLevel ? this.isValidAppToken(token) : this.isValidToken(token);
      if (!accepted) {
        const otherType = appLevel ? this.isValidToken(token) : this.isValidAppToken(token);
        return json(fail(otherType ? 'not_allowed_token_type' : 'invalid_auth'));
      }
    }
    const fault = this.faults.get(method);
    if (fault && fault.remaining > 0) {
      fault.remaining -= 1;
      if (fault.remaining === 0) this.faults.delete(method);
      return json(fail(fault.error), fault.status);
    }
    return json(await handler(args, { token: token ?? '' }));
  }

  private record(method: string, args: Args, status: number, response: Args, at = this.now()): void {
    this.seq += 1;
    this.callLog.push({ seq: this.seq, method, args, at, status, response });
    this.changed();
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Unique, strictly increasing message ts ("1700000000.000100"). */
  nextTs(): string {
    const micros = Math.max(this.now() * 1000, this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    const sec = Math.floor(micros / 1_000_000);
    const frac = String(micros % 1_000_000).padStart(6, '0');
    return `${sec}.${frac}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Methods
  // ---------------------------------------------------------------------------------------------

  private authTest(): Args {
    return {
      ok: true,
      url: `https://${this.team.domain}.slack.com/`,
      team: this.team.name,
      user: this.bot.name,
      team_id: this.team.id,
      user_id: this.bot.userId,
      bot_id: this.bot.botId,
      is_enterprise_install: false,
    };
  }

  private appsConnectionsOpen(appToken: string): Args {
    // The emulator's own error (no Socket Mode emulator attached), standing for an app with Socket Mode off.
    if (!this.socketMode) return fail('socket_mode_not_enabled');
    return { ok: true, url: this.socketMode.issueUrl(appToken) };
  }

  /** A stored message as the Web API (and a block_actions payload) shows it. */
  messageJson(m: StoredMessage): Args {
    const out: Args = {
      type: 'message',
      text: m.text,
      user: m.user,
      bot_id: m.bot_id,
      app_id: m.app_id,
      team: m.team,
      ts: m.ts,
      blocks: m.blocks,
    };
    if (m.attachments.length > 0) out.attachments = m.attachments;
    if (m.thread_ts) out.thread_ts = m.thread_ts;
    if (m.files) out.files = m.files;
    if (m.edited) out.edited = m.edited;
    if (m.metadata !== undefined) out.metadata = m.metadata;
    return out;
  }

  /** Stores a new channel message; used by chat.postMessage, in_channel responses and file shares. */
  postMessage(input: {
    channel: string;
    text?: string;
    blocks?: Block[];
    attachments?: unknown[];
    thread_ts?: string;
    user?: string;
    via: string;
    files?: StoredMessage['files'];
    metadata?: unknown;
  }): StoredMessage {
    const ts = this.nextTs();
    const at = this.now();
    const text = input.text ?? '';
    const blocks = input.blocks ?? [];
    const attachments = input.attachments ?? [];
    const m: StoredMessage = {
      type: 'message',
      channel: input.channel,
      ts,
      text,
      blocks,
      attachments,
      user: input.user ?? this.bot.userId,
      bot_id: this.bot.botId,
      app_id: this.bot.appId,
      team: this.team.id,
      deleted: false,
      history: [{ text, blocks, attachments, at, via: input.via }],
    };
    if (input.thread_ts) m.thread_ts = input.thread_ts;
    if (input.files) m.files = input.files;
    if (input.metadata !== undefined) m.metadata = input.metadata;
    this.messageMap.set(`${m.channel}/${ts}`, m);
    this.changed();
    return m;
  }

  private chatPostMessage(args: Args): Args {
    const channelArg = str(args.channel);
    if (!channelArg) return fail('channel_not_found');
    const invalid = validateMessageContent(args);
    if (invalid) return fail(invalid.error, invalid.errors ? { errors: invalid.errors } : {});
    const channel = this.resolveChannel(channelArg, true);
    if (!channel) return fail('channel_not_found');
    const threadTs = str(args.thread_ts);
    const m = this.postMessage({
      channel: channel.id,
      text: str(args.text) ?? '',
      blocks: (args.blocks as Block[] | undefined) ?? [],
      attachments: (args.attachments as unknown[] | undefined) ?? [],
      via: 'chat.postMessage',
      metadata: args.metadata,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    return { ok: true, channel: channel.id, ts: m.ts, message: this.messageJson(m) };
  }

  /** Applies new content to a message (chat.update, response_url replace_original). */
  private updateMessage(m: StoredMessage, args: Args, via: string): void {
    // As chat.update: blocks/attachments not supplied are retained; an empty array removes them.
    const text = args.text !== undefined ? (str(args.text) ?? '') : m.text;
    const blocks = args.blocks !== undefined ? (args.blocks as Block[]) : m.blocks;
    const attachments = args.attachments !== undefined ? (args.attachments as unknown[]) : m.attachments;
    m.text = text;
    m.blocks = blocks;
    m.attachments = attachments;
    m.edited = { user: this.bot.userId, ts: this.nextTs() };
    m.history.push({ text, blocks, attachments, at: this.now(), via });
    this.changed();
  }

  private chatUpdate(args: Args): Args {
    const channelArg = str(args.channel);
    const ts = str(args.ts);
    // chat.update and chat.delete take a channel ID, not a name.
    const channel = this.channelById(channelArg);
    if (!channel) return fail('channel_not_found');
    const invalid = validateMessageContent(args);
    if (invalid) return fail(invalid.error, invalid.errors ? { errors: invalid.errors } : {});
    const m = ts ? this.messageMap.get(`${channel.id}/${ts}`) : undefined;
    if (!m || m.deleted) return fail('message_not_found');
    if (m.bot_id !== this.bot.botId) return fail('cant_update_message');
    this.updateMessage(m, args, 'chat.update');
    return { ok: true, channel: channel.id, ts: m.ts, text: m.text, message: this.messageJson(m) };
  }

  /** Stores an ephemeral message (chat.postEphemeral, response_url). */
  postEphemeral(input: {
    channel: string;
    user: string;
    text?: string;
    blocks?: Block[];
    attachments?: unknown[];
    thread_ts?: string;
    via: string;
  }): EphemeralMessage {
    const text = input.text ?? '';
    const blocks = input.blocks ?? [];
    const attachments = input.attachments ?? [];
    const e: EphemeralMessage = {
      channel: input.channel,
      user: input.user,
      ts: this.nextTs(),
      text,
      blocks,
      attachments,
      deleted: false,
      history: [{ text, blocks, attachments, at: this.now(), via: input.via }],
    };
    if (input.thread_ts) e.thread_ts = input.thread_ts;
    this.ephemeralList.push(e);
    this.changed();
    return e;
  }

  private chatPostEphemeral(args: Args): Args {
    const channelArg = str(args.channel);
    const user = str(args.user);
    if (!channelArg) return fail('channel_not_found');
    if (!user || !/^[UW][A-Z0-9]{2,}$/.test(user)) return fail('user_not_found');
    const known = this.userMap.get(user);
    if (known?.deleted) return fail('user_not_found');
    const invalid = validateMessageContent(args);
    if (invalid) return fail(invalid.error, invalid.errors ? { errors: invalid.errors } : {});
    const channel = this.resolveChannel(channelArg, true);
    if (!channel) return fail('channel_not_found');
    const threadTs = str(args.thread_ts);
    const e = this.postEphemeral({
      channel: channel.id,
      user,
      text: str(args.text) ?? '',
      blocks: (args.blocks as Block[] | undefined) ?? [],
      attachments: (args.attachments as unknown[] | undefined) ?? [],
      via: 'chat.postEphemeral',
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    return { ok: true, message_ts: e.ts };
  }

  private chatDelete(args: Args): Args {
    const channelArg = str(args.channel);
    const ts = str(args.ts);
    const channel = this.channelById(channelArg);
    if (!channel) return fail('channel_not_found');
    const m = ts ? this.messageMap.get(`${channel.id}/${ts}`) : undefined;
    if (!m || m.deleted) return fail('message_not_found');
    if (m.bot_id !== this.bot.botId) return fail('cant_delete_message');
    m.deleted = true;
    this.changed();
    return { ok: true, channel: channel.id, ts: m.ts };
  }

  private chatGetPermalink(args: Args): Args {
    const channel = this.resolveChannel(str(args.channel) ?? '', false);
    const ts = str(args.message_ts);
    if (!channel) return fail('channel_not_found');
    if (!ts || !this.messageMap.has(`${channel.id}/${ts}`)) return fail('message_not_found');
    return {
      ok: true,
      channel: channel.id,
      permalink: `https://${this.team.domain}.slack.com/archives/${channel.id}/p${ts.replace('.', '')}`,
    };
  }

  private channelById(ref: string | undefined): SlackChannel | undefined {
    return ref && /^[CGD][A-Z0-9]{2,}$/.test(ref) ? this.channelMap.get(ref) : undefined;
  }

  private usersInfo(args: Args): Args {
    const id = str(args.user);
    const user = id ? this.userMap.get(id) : undefined;
    if (!user) return fail('user_not_found');
    return { ok: true, user };
  }

  private usergroupsUsersList(args: Args): Args {
    const id = str(args.usergroup);
    const group = id ? this.usergroupMap.get(id) : undefined;
    if (!group) return fail('no_such_subteam');
    return { ok: true, users: [...group.users] };
  }

  private conversationsInfo(args: Args): Args {
    const channel = this.channelById(str(args.channel));
    if (!channel) return fail('channel_not_found');
    return {
      ok: true,
      channel: {
        id: channel.id,
        name: channel.name,
        is_channel: channel.is_channel,
        is_group: false,
        is_im: channel.is_im,
        is_mpim: false,
        is_private: channel.is_private,
        is_archived: false,
        is_general: channel.name === 'general',
        is_member: true,
        created: channel.created,
        ...(channel.user ? { user: channel.user } : {}),
      },
    };
  }

  private filesGetUploadUrlExternal(args: Args): Args {
    const filename = str(args.filename);
    const length = Number(args.length);
    if (!filename || !Number.isInteger(length) || length < 0) return fail('invalid_arguments');
    const id = `F${randomBytes(5).toString('hex').toUpperCase()}`;
    const ext = filename.includes('.') ? (filename.split('.').pop() ?? '').toLowerCase() : '';
    const file: StoredFile = {
      id,
      name: filename,
      title: filename,
      length,
      size: 0,
      mimetype: MIME[ext] ?? 'application/octet-stream',
      filetype: ext || 'binary',
      uploaded: false,
      completed: false,
      channels: [],
      created: Math.floor(this.now() / 1000),
      uploadToken: randomBytes(12).toString('hex'),
    };
    const alt = str(args.alt_text);
    if (alt) file.alt_text = alt;
    const snippet = str(args.snippet_type);
    if (snippet) file.snippet_type = snippet;
    this.fileMap.set(id, file);
    this.changed();
    return { ok: true, upload_url: `${this.requireBaseUrl()}/upload/v1/${id}/${file.uploadToken}`, file_id: id };
  }

  /** Receives the bytes posted to an upload URL; returns the HTTP status and text body Slack would send. */
  receiveUpload(fileId: string, token: string, content: Buffer): { status: number; text: string } {
    const file = this.fileMap.get(fileId);
    let result: { status: number; text: string };
    if (!file || file.uploadToken !== token || file.completed) result = { status: 404, text: 'Not Found' };
    else {
      file.content = content;
      file.size = content.length;
      file.uploaded = true;
      result = { status: 200, text: `OK - ${content.length}` };
    }
    this.record('upload_url', { file_id: fileId, bytes: content.length }, result.status, { text: result.text });
    return result;
  }

  private filesCompleteUploadExternal(args: Args): Args {
    const list = args.files;
    if (!Array.isArray(list) || list.length === 0) return fail('invalid_arguments');
    const files: StoredFile[] = [];
    for (const entry of list) {
      const id = typeof entry === 'object' && entry !== null ? str((entry as Args).id) : undefined;
      const file = id ? this.fileMap.get(id) : undefined;
      if (!file?.uploaded) return fail('file_not_found');
      if (file.completed) return fail('file_already_completed');
      if (file.size !== file.length) return fail('file_upload_size_mismatch');
      const title = str((entry as Args).title);
      if (title) file.title = title;
      files.push(file);
    }
    const channelRefs = [
      ...(str(args.channel_id) ? [str(args.channel_id) as string] : []),
      ...(str(args.channels)
        ?.split(',')
        .map((c) => c.trim())
        .filter(Boolean) ?? []),
    ];
    const channels: SlackChannel[] = [];
    for (const ref of channelRefs) {
      const ch = this.resolveChannel(ref, true);
      if (!ch) return fail('channel_not_found');
      channels.push(ch);
    }
    const initialComment = str(args.initial_comment);
    const threadTs = str(args.thread_ts);
    for (const f of files) {
      f.completed = true;
      f.channels = channels.map((c) => c.id);
      if (initialComment) f.initial_comment = initialComment;
      if (threadTs) f.thread_ts = threadTs;
    }
    for (const ch of channels) {
      this.postMessage({
        channel: ch.id,
        text: initialComment ?? '',
        blocks: initialComment === undefined && Array.isArray(args.blocks) ? (args.blocks as Block[]) : [],
        via: 'files.completeUploadExternal',
        files: files.map((f) => ({ id: f.id, name: f.name, title: f.title })),
        ...(threadTs ? { thread_ts: threadTs } : {}),
      });
    }
    this.changed();
    return { ok: true, files: files.map((f) => this.fileJson(f)) };
  }

  fileJson(f: StoredFile): Args {
    const base = this.baseUrl ?? '';
    return {
      id: f.id,
      created: f.created,
      timestamp: f.created,
      name: f.name,
      title: f.title,
      mimetype: f.mimetype,
      filetype: f.filetype,
      user: this.bot.userId,
      size: f.size,
      is_external: false,
      is_public: f.channels.some((c) => c.startsWith('C')),
      url_private: `${base}/files/${f.id}/${encodeURIComponent(f.name)}`,
      url_private_download: `${base}/files/${f.id}/download/${encodeURIComponent(f.name)}`,
      permalink: `https://${this.team.domain}.slack.com/files/${this.bot.userId}/${f.id}/${encodeURIComponent(f.name)}`,
      channels: f.channels.filter((c) => c.startsWith('C')),
      groups: f.channels.filter((c) => c.startsWith('G')),
      ims: f.channels.filter((c) => c.startsWith('D')),
      ...(f.alt_text ? { alt_txt: f.alt_text } : {}),
    };
  }

  private viewsOpen(args: Args): Args {
    const triggerId = str(args.trigger_id);
    const view = args.view;
    if (!triggerId) return fail('invalid_arguments');
    if (typeof view !== 'object' || view === null || Array.isArray(view)) return fail('invalid_arguments');
    const v = view as Args;
    if (v.type !== 'modal' && v.type !== 'home') return fail('invalid_arguments');
    const trigger = this.triggers.get(triggerId);
    if (!trigger) return fail('invalid_trigger_id');
    if (trigger.used) return fail('exchanged_trigger_id');
    if (this.now() - trigger.issuedAt > (this.options.triggerTtlMs ?? 3000)) return fail('expired_trigger_id');
    const invalid = v.type === 'modal' ? validateModalView(v) : undefined;
    if (invalid) return fail(invalid.error, invalid.errors ? { errors: invalid.errors } : {});
    if (Array.isArray(v.blocks)) {
      const invalidBlocks = validateMessageContent({ blocks: v.blocks }, false);
      if (invalidBlocks) return fail(invalidBlocks.error, invalidBlocks.errors ? { errors: invalidBlocks.errors } : {});
    }
    trigger.used = true;
    const opened: Args = {
      id: `V${randomBytes(5).toString('hex').toUpperCase()}`,
      team_id: this.team.id,
      app_id: this.bot.appId,
      bot_id: this.bot.botId,
      state: { values: {} },
      hash: `${Math.floor(this.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      root_view_id: null,
      previous_view_id: null,
      ...v,
    };
    opened.root_view_id = opened.id;
    if (trigger.user) this.viewOwners.set(String(opened.id), trigger.user);
    this.views.push(opened);
    this.changed();
    return { ok: true, view: opened };
  }

  /**
   * views.update as Slack does it: the view named by view_id (or external_id), refused with `hash_conflict` when a
   * hash is given and the view changed since; values typed in inputs whose block_id and action_id stay are kept.
   */
  private viewsUpdate(args: Args): Args {
    const view = args.view;
    if (typeof view !== 'object' || view === null || Array.isArray(view)) return fail('invalid_arguments');
    const v = view as Args;
    const current = this.views.find(
      (candidate) =>
        (args.view_id !== undefined && candidate.id === args.view_id) ||
        (args.external_id !== undefined && candidate.external_id === args.external_id),
    );
    if (!current) return fail('not_found');
    if (args.hash !== undefined && args.hash !== current.hash) return fail('hash_conflict');
    if (v.type !== current.type) return fail('invalid_arguments');
    const invalid = v.type === 'modal' ? validateModalView(v) : undefined;
    if (invalid) return fail(invalid.error, invalid.errors ? { errors: invalid.errors } : {});
    this.replaceView(current, v);
    this.changed();
    return { ok: true, view: current };
  }

  /** Replaces a view's content in place (views.update, `response_action: update`), keeping the kept inputs' values. */
  private replaceView(current: Args, next: Args): void {
    const kept: Record<string, Record<string, unknown>> = {};
    const values = ((current.state as Args | undefined)?.values ?? {}) as Record<string, Record<string, unknown>>;
    for (const block of Array.isArray(next.blocks) ? (next.blocks as Args[]) : []) {
      const element = block.element as Args | undefined;
      const id = str(block.block_id);
      const action = str(element?.action_id);
      const value = id && action ? values[id]?.[action] : undefined;
      if (id && action && value !== undefined) kept[id] = { ...kept[id], [action]: value };
    }
    for (const key of Object.keys(current)) {
      if (!['id', 'team_id', 'app_id', 'bot_id', 'root_view_id', 'previous_view_id'].includes(key)) delete current[key];
    }
    Object.assign(current, next, {
      state: { values: kept },
      hash: `${Math.floor(this.now() / 1000)}.${randomBytes(4).toString('hex')}`,
    });
  }

  /** A view opened with views.open (and not closed), by id. */
  view(id: string): Args | undefined {
    return this.views.find((v) => v.id === id && v.closed !== true);
  }

  /** The modal open (the latest opened and not closed), for one user when given. */
  openView(user?: string): Args | undefined {
    return [...this.views]
      .reverse()
      .find(
        (v) =>
          v.closed !== true && v.type === 'modal' && (user === undefined || this.viewOwners.get(String(v.id)) === user),
      );
  }

  /** The user closes a view (its Cancel button). */
  closeView(id: string): void {
    const view = this.view(id);
    if (!view) return;
    view.closed = true;
    this.changed();
  }

  /** What the user typed or picked in a view's input (the value as `view.state.values` carries it). */
  setViewValue(viewId: string, blockId: string, actionId: string, value: Record<string, unknown>): void {
    const view = this.view(viewId);
    if (!view) throw new Error(`setViewValue: no open view ${viewId}`);
    const state = (view.state ?? { values: {} }) as { values: Record<string, Record<string, unknown>> };
    state.values[blockId] = { ...state.values[blockId], [actionId]: value };
    view.state = state;
    this.changed();
  }

  /**
   * What the app answered a view_submission with: nothing (or `clear`) closes the view, `errors` are shown on the
   * view's input blocks (and must name them), `update` replaces it. Returns the errors shown, if any.
   */
  applyViewResponse(viewId: string, response: unknown): Record<string, string> | undefined {
    const view = this.view(viewId);
    if (!view) throw new Error(`applyViewResponse: no open view ${viewId}`);
    const r = typeof response === 'object' && response !== null ? (response as Args) : {};
    if (r.response_action === 'errors') {
      const errors = (r.errors ?? {}) as Record<string, string>;
      const inputs = new Set(
        (Array.isArray(view.blocks) ? (view.blocks as Args[]) : [])
          .filter((b) => b.type === 'input')
          .map((b) => str(b.block_id)),
      );
      const unknown = Object.keys(errors).filter((id) => !inputs.has(id));
      if (unknown.length > 0) throw new Error(`response_action errors names no input block: ${unknown.join(', ')}`);
      view.errors = errors;
      this.changed();
      return errors;
    }
    if (r.response_action === 'update' && typeof r.view === 'object' && r.view !== null) {
      this.replaceView(view, r.view as Args);
    } else {
      view.closed = true;
    }
    this.changed();
    return undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // response_url
  // ---------------------------------------------------------------------------------------------

  /**
   * Handles a POST to a response_url as Slack does (JSON body: text, blocks, attachments, response_type,
   * replace_original, delete_original, thread_ts). Returns the HTTP status and JSON body.
   */
  respond(id: string, rawBody: Args): { status: number; body: Args } {
    const body = normaliseArgs(rawBody);
    const ctx = this.responseUrls.get(id);
    let result: { status: number; body: Args };
    if (!ctx) result = { status: 404, body: fail('expired_url') };
    else if (this.now() - ctx.createdAt > (this.options.responseUrlTtlMs ?? 30 * 60_000)) {
      result = { status: 404, body: fail('expired_url') };
    } else if (ctx.uses >= (this.options.responseUrlMaxUses ?? 5)) result = { status: 404, body: fail('used_url') };
    else result = this.applyResponse(ctx, body);
    this.record('response_url', { response_url_id: id, ...body }, result.status, result.body);
    return result;
  }

  private applyResponse(ctx: ResponseUrlContext, body: Args): { status: number; body: Args } {
    ctx.uses += 1;
    const target = ctx.source ?? ctx.last;
    if (truthy(body.delete_original)) {
      if (!target) return { status: 404, body: fail('message_not_found') };
      const found = this.findTarget(target);
      if (!found) return { status: 404, body: fail('message_not_found') };
      found.deleted = true;
      this.changed();
      return { status: 200, body: { ok: true } };
    }
    const invalid = validateMessageContent(body);
    if (invalid) return { status: 400, body: fail(invalid.error, invalid.errors ? { errors: invalid.errors } : {}) };
    if (truthy(body.replace_original) && target) {
      const found = this.findTarget(target);
      if (!found || found.deleted) return { status: 404, body: fail('message_not_found') };
      if ('type' in found) this.updateMessage(found, body, 'response_url');
      else {
        const text = body.text !== undefined ? (str(body.text) ?? '') : found.text;
        const blocks = body.blocks !== undefined ? (body.blocks as Block[]) : found.blocks;
        const attachments = body.attachments !== undefined ? (body.attachments as unknown[]) : found.attachments;
        Object.assign(found, { text, blocks, attachments });
        found.history.push({ text, blocks, attachments, at: this.now(), via: 'response_url' });
        this.changed();
      }
      return { status: 200, body: { ok: true } };
    }
    const threadTs = str(body.thread_ts);
    const content = {
      text: str(body.text) ?? '',
      blocks: (body.blocks as Block[] | undefined) ?? [],
      attachments: (body.attachments as unknown[] | undefined) ?? [],
      via: 'response_url',
      ...(threadTs ? { thread_ts: threadTs } : {}),
    };
    if (body.response_type === 'in_channel') {
      const m = this.postMessage({ channel: ctx.channel, ...content });
      ctx.last = { kind: 'message', channel: m.channel, ts: m.ts };
    } else {
      const e = this.postEphemeral({ channel: ctx.channel, user: ctx.user, ...content });
      ctx.last = { kind: 'ephemeral', channel: e.channel, ts: e.ts };
    }
    return { status: 200, body: { ok: true } };
  }

  private findTarget(t: ResponseUrlSource): StoredMessage | EphemeralMessage | undefined {
    if (t.kind === 'message') return this.messageMap.get(`${t.channel}/${t.ts}`);
    return this.ephemeralList.find((e) => e.channel === t.channel && e.ts === t.ts);
  }
}

/** Parses JSON-encoded arguments (as sent form-encoded by the official client) back to objects. */
export function normaliseArgs(raw: Args): Args {
  const args: Args = { ...raw };
  delete args.token;
  for (const key of JSON_ARGS) {
    if (key in args) args[key] = parseJsonArg(args[key]);
  }
  return args;
}
