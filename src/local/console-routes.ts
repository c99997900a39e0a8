/**
 * The local console's HTTP routes: the page's static files, a JSON view of the emulated workspace for one
 * person, server-sent events on every change, and the two things a person does in Slack: run a slash command
 * and click a button. Both go to dockhand as signed requests through the emulator's request client, the same
 * protocol Slack speaks.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname } from 'node:path';
import { COMMANDS } from '../core/usage.ts';
import { errorMessage } from '../errors.ts';
import type { SlackRequestClient } from '../slack-emulator/requests.ts';
import type { Block, SlackEmulatorState, StoredFile } from '../slack-emulator/state.ts';

export interface EngineStatus {
  ok: boolean;
  /** The DOCKER_HOST dockhand builds with. */
  host: string;
  /** What is missing and what to do, when no engine answers. */
  message?: string;
}

export interface ConsoleRoutesOptions {
  state: SlackEmulatorState;
  requests: SlackRequestClient;
  /** The user ids the page offers in its user switcher, first = default. */
  people: string[];
  /** The channel the page opens. */
  channel: string;
  probeEngine: () => Promise<EngineStatus>;
  /** Origins the page is served from: requests from anywhere else are refused (CSRF, DNS rebinding). */
  origins: string[];
  /** How often the engine is pinged again (default 10 s). */
  engineIntervalMs?: number;
}

export interface ConsoleRoutes {
  /** False (after answering 403) for requests that do not come from the console's own origin. */
  allowed(req: IncomingMessage, res: ServerResponse): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
  stop(): void;
}

const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/console/app.js': 'app.js',
  '/console/render.js': 'render.js',
  '/console/style.css': 'style.css',
  '/favicon.svg': 'favicon.svg',
  // Browsers ask for it without a <link>; an SVG under its name works in every current one.
  '/favicon.ico': 'favicon.svg',
};
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
const PAGE_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
};
/** Text files larger than this are shown cut, with a note. */
const FILE_PREVIEW_BYTES = 200_000;
const BODY_LIMIT = 64 * 1024;

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...PAGE_HEADERS });
  res.end(JSON.stringify(body));
};

const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
  let raw = '';
  for await (const chunk of req) {
    raw += String(chunk);
    if (raw.length > BODY_LIMIT) throw new Error('request too large');
  }
  const parsed: unknown = JSON.parse(raw || '{}');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
  return parsed as Record<string, unknown>;
};

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

const filePreview = (file: StoredFile | undefined) => {
  if (!file) return undefined;
  const isText = file.mimetype.startsWith('text/') || file.mimetype === 'application/json';
  const content = isText && file.content ? file.content.subarray(0, FILE_PREVIEW_BYTES).toString('utf8') : undefined;
  return {
    id: file.id,
    name: file.name,
    title: file.title,
    size: file.size,
    ...(content !== undefined ? { content, cut: file.size > FILE_PREVIEW_BYTES } : {}),
  };
};

/** A slash command typed in the composer: `/name rest…`. */
const parseCommand = (input: string): { command: string; text: string } | undefined => {
  const m = /^\/([a-z][a-z0-9_-]*)(?:\s+([\s\S]*))?$/i.exec(input.trim());
  return m ? { command: `/${(m[1] ?? '').toLowerCase()}`, text: (m[2] ?? '').trim() } : undefined;
};

export const createConsoleRoutes = (options: ConsoleRoutesOptions): ConsoleRoutes => {
  const { state, requests, people } = options;
  const staticDir = new URL('./console/', import.meta.url);
  const clients = new Set<ServerResponse>();
  let engine: EngineStatus = { ok: true, host: '' };
  let engineKnown = false;
  /** The commands each person typed (Slack shows you your own invocation), newest last. */
  const typed: { user: string; channel: string; ts: string; text: string }[] = [];

  let pending: NodeJS.Timeout | undefined;
  const broadcast = () => {
    if (pending) return;
    pending = setTimeout(() => {
      pending = undefined;
      for (const res of clients) res.write('event: change\ndata: {}\n\n');
    }, 50);
  };
  const unsubscribe = state.onChange(broadcast);

  const checkEngine = async () => {
    const next = await options.probeEngine();
    const changed = !engineKnown || next.ok !== engine.ok || next.message !== engine.message;
    engine = next;
    engineKnown = true;
    if (changed) broadcast();
  };
  void checkEngine();
  const engineTimer = setInterval(() => void checkEngine(), options.engineIntervalMs ?? 10_000);
  engineTimer.unref();
  const keepAlive = setInterval(() => {
    for (const res of clients) res.write(': keep-alive\n\n');
  }, 15_000);
  keepAlive.unref();

  const person = (id: unknown): string | undefined => (typeof id === 'string' && people.includes(id) ? id : undefined);

  const view = (user: string, channelRef: string) => {
    const channel = state.resolveChannel(channelRef, false) ?? state.resolveChannel(options.channel, true);
    const channelId = channel?.id ?? '';
    const names = Object.fromEntries(state.users.map((u) => [u.id, u.name]));
    const messages = state.messages(channelId).map((m) => ({
      kind: 'message' as const,
      ts: m.ts,
      user: m.user,
      author: names[m.user] ?? m.user,
      bot: m.bot_id !== '' && m.user === state.bot.userId,
      text: m.text,
      blocks: m.blocks,
      edited: m.history.length > 1,
      files: (m.files ?? []).map((f) => filePreview(state.file(f.id))).filter((f) => f !== undefined),
    }));
    const ephemerals = state.ephemerals(user).filter((e) => e.channel === channelId);
    const own = typed.filter((t) => t.user === user && t.channel === channelId);
    return {
      me: user,
      channel: { id: channelId, name: channel?.name ?? '' },
      channels: state.channels.filter((c) => c.is_channel).map((c) => ({ id: c.id, name: c.name })),
      people: people.map((id) => ({ id, name: names[id] ?? id, realName: state.user(id)?.real_name ?? id })),
      users: names,
      groups: Object.fromEntries(state.usergroups.map((g) => [g.id, g.handle])),
      commands: Object.entries(COMMANDS).map(([name, c]) => ({
        command: `/${name}`,
        usage: c.usage,
        description: c.description,
      })),
      engine: engineKnown ? engine : undefined,
      // The modal dockhand opened for this person (views.open), with the errors its last submission got.
      modal: state.openView(user) ?? null,
      timeline: [
        ...messages,
        ...ephemerals.map((e) => ({
          kind: 'ephemeral' as const,
          ts: e.ts,
          user: state.bot.userId,
          author: state.bot.name,
          text: e.text,
          blocks: e.blocks,
        })),
        ...own.map((t) => ({ kind: 'typed' as const, ts: t.ts, user, author: names[user] ?? user, text: t.text })),
      ].sort((a, b) => Number(a.ts) - Number(b.ts)),
    };
  };

  /** What Slack does with an acknowledgement that carries a message: shows it (to the invoker, unless in_channel). */
  const showAck = (user: string, channel: string, body: unknown) => {
    if (typeof body !== 'object' || body === null) return;
    const reply = body as { text?: unknown; blocks?: unknown; response_type?: unknown };
    if (reply.text === undefined && reply.blocks === undefined) return;
    const content = { text: text(reply.text), blocks: Array.isArray(reply.blocks) ? (reply.blocks as Block[]) : [] };
    if (reply.response_type === 'in_channel') state.postMessage({ channel, ...content, via: 'ack' });
    else state.postEphemeral({ channel, user, ...content, via: 'ack' });
  };

  const runCommand = async (body: Record<string, unknown>) => {
    const user = person(body.user);
    if (!user) return { status: 400, body: { ok: false, error: 'unknown user' } };
    const channel = state.resolveChannel(text(body.channel) || options.channel, true);
    if (!channel) return { status: 400, body: { ok: false, error: 'unknown channel' } };
    const parsed = parseCommand(text(body.text));
    if (!parsed) {
      return { status: 400, body: { ok: false, error: 'Type a slash command, e.g. /dockhand help' } };
    }
    typed.push({ user, channel: channel.id, ts: state.nextTs(), text: `${parsed.command} ${parsed.text}`.trim() });
    if (!(parsed.command.slice(1) in COMMANDS)) {
      state.postEphemeral({
        channel: channel.id,
        user,
        text: `\`${parsed.command}\` is not a valid command. Try \`/dockhand help\`.`,
        via: 'console',
      });
      return { status: 200, body: { ok: true } };
    }
    const result = await requests.slashCommand({ ...parsed, userId: user, channel: channel.id });
    if (result.status !== 200) {
      return { status: 502, body: { ok: false, error: `dockhand answered HTTP ${result.status}: ${result.text}` } };
    }
    showAck(user, channel.id, result.body);
    return { status: 200, body: { ok: true } };
  };

  const click = async (body: Record<string, unknown>) => {
    const user = person(body.user);
    if (!user) return { status: 400, body: { ok: false, error: 'unknown user' } };
    const value = text(body.value);
    const result = await requests.clickButton({
      message: { channel: text(body.channel), ts: text(body.ts), ephemeral: body.ephemeral === true },
      actionId: text(body.actionId),
      ...(value ? { value } : {}),
      userId: user,
    });
    if (result.status !== 200) {
      return { status: 502, body: { ok: false, error: `dockhand answered HTTP ${result.status}: ${result.text}` } };
    }
    showAck(user, text(body.channel), result.body);
    return { status: 200, body: { ok: true } };
  };

  /** What a person does in a modal: fill an input (`blockId`, `value`), submit it, or close it. */
  const inModal = async (body: Record<string, unknown>) => {
    const user = person(body.user);
    if (!user) return { status: 400, body: { ok: false, error: 'unknown user' } };
    const modal = state.openView(user);
    if (!modal || modal.id !== body.viewId) return { status: 400, body: { ok: false, error: 'that form is closed' } };
    const viewId = String(modal.id);
    if (body.close === true) {
      state.closeView(viewId);
      return { status: 200, body: { ok: true } };
    }
    const value = body.value;
    if (typeof body.blockId === 'string' && (typeof value === 'string' || Array.isArray(value))) {
      const filled = await requests.fillView({
        viewId,
        blockId: body.blockId,
        value: typeof value === 'string' ? value : value.map(String),
        userId: user,
      });
      if (filled && filled.status !== 200) {
        return { status: 502, body: { ok: false, error: `dockhand answered HTTP ${filled.status}: ${filled.text}` } };
      }
    }
    if (body.submit !== true) return { status: 200, body: { ok: true } };
    const result = await requests.submitView({ viewId, userId: user });
    if (result.status !== 200) {
      return { status: 502, body: { ok: false, error: `dockhand answered HTTP ${result.status}: ${result.text}` } };
    }
    return { status: 200, body: { ok: true, errors: result.errors ?? null } };
  };

  const events = (req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write('retry: 1000\nevent: change\ndata: {}\n\n');
    clients.add(res);
    req.on('close', () => clients.delete(res));
  };

  return {
    allowed(req, res) {
      const host = req.headers.host ?? '';
      const origin = req.headers.origin;
      const sameHost = options.origins.some((o) => o === `http://${host}`);
      const sameOrigin = origin === undefined || options.origins.includes(origin);
      if (sameHost && sameOrigin) return true;
      req.resume();
      json(res, 403, { ok: false, error: 'the local console only answers its own page on 127.0.0.1' });
      return false;
    },
    async handle(req, res) {
      const url = new URL(req.url ?? '/', 'http://console.invalid');
      const method = req.method ?? 'GET';
      const file = STATIC[url.pathname];
      if (method === 'GET' && file) {
        const body = await readFile(new URL(file, staticDir));
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'text/plain', ...PAGE_HEADERS });
        res.end(body);
        return true;
      }
      if (method === 'GET' && url.pathname === '/console/state') {
        const user = person(url.searchParams.get('user')) ?? people[0] ?? '';
        json(res, 200, view(user, url.searchParams.get('channel') || options.channel));
        return true;
      }
      if (method === 'GET' && url.pathname === '/console/events') {
        events(req, res);
        return true;
      }
      const post = { '/console/command': runCommand, '/console/click': click, '/console/view': inModal }[url.pathname];
      if (method === 'POST' && post) {
        // JSON only: a cross-site form cannot send it without a CORS preflight, which this server never grants.
        if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) {
          req.resume();
          json(res, 415, { ok: false, error: 'expected application/json' });
          return true;
        }
        try {
          const body = await readJson(req);
          const result = await post(body);
          json(res, result.status, result.body);
        } catch (e) {
          json(res, 400, { ok: false, error: errorMessage(e) });
        }
        return true;
      }
      return false;
    },
    stop() {
      unsubscribe();
      clearInterval(engineTimer);
      clearInterval(keepAlive);
      if (pending) clearTimeout(pending);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
};
