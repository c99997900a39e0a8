/**
 * Slack Web API emulator over HTTP.
 *
 * Routes (relative to the mount prefix):
 *   POST|GET /api/<method>            Web API (form-encoded, JSON or multipart bodies; Bearer token)
 *   POST|PUT /upload/v1/<file>/<tok>  upload URL handed out by files.getUploadURLExternal (raw or multipart bytes)
 *   POST     /response/<id>           response_url (JSON body as Bolt's respond() sends)
 *   GET      /files/<id>/...          url_private of an uploaded file (Bearer token)
 *   GET      /_emulator/{calls,messages,ephemerals,files,views,users,usergroups,channels}
 *   POST     /_emulator/{reset,users,usergroups,channels,rate-limit,latency,fail}
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Args, type SlackEmulatorOptions, SlackEmulatorState } from './state.ts';

export type SlackRequestListener = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface SlackWebApiHandlerOptions {
  /** Path prefix the handler is mounted under, e.g. '/slack-emulator'. Default ''. */
  prefix?: string;
  /**
   * Public base URL of the mount point (origin + prefix), used for upload and response URLs.
   * Default: derived from the first request's Host header.
   */
  baseUrl?: string;
  /** Maximum request body size in bytes. Default 100 MiB. */
  bodyLimit?: number;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buf.length;
    if (size > limit) throw new HttpError(413, 'request_too_large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** Minimal multipart/form-data parser (RFC 7578), enough for the official client's uploads. */
export function parseMultipart(body: Buffer, contentType: string): MultipartPart[] {
  const match = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary) throw new HttpError(400, 'invalid_form_data');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(delimiter);
  while (pos !== -1) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    if (body.subarray(pos, pos + 2).toString() === '\r\n') pos += 2;
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd === -1) break;
    const headerText = body.subarray(pos, headerEnd).toString('utf8');
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd + 4);
    if (next === -1) break;
    const data = body.subarray(headerEnd + 4, next);
    const headers = new Map<string, string>();
    for (const line of headerText.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    const disposition = headers.get('content-disposition') ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? '';
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1];
    const part: MultipartPart = { name, data: Buffer.from(data) };
    if (filename !== undefined) part.filename = filename;
    const ct = headers.get('content-type');
    if (ct) part.contentType = ct;
    parts.push(part);
    pos = next + 2;
  }
  return parts;
}

function parseForm(text: string): Args {
  const args: Args = {};
  for (const [k, v] of new URLSearchParams(text)) args[k] = v;
  return args;
}

function bearer(req: IncomingMessage): string | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(h.trim());
  return m?.[1]?.trim();
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    ...(typeof body === 'string' ? { 'content-type': 'text/plain; charset=utf-8' } : JSON_HEADERS),
    ...headers,
  });
  res.end(text);
}

/**
 * Builds a request listener answering the emulator's routes under `prefix`. It resolves to `false` (and
 * writes nothing) for paths outside the prefix, so it can share a node:http server with other routes.
 */
export function createSlackWebApiHandler(
  state: SlackEmulatorState,
  options: SlackWebApiHandlerOptions = {},
): SlackRequestListener {
  const prefix = (options.prefix ?? '').replace(/\/+$/, '');
  const bodyLimit = options.bodyLimit ?? 100 * 1024 * 1024;
  if (options.baseUrl) state.baseUrl = options.baseUrl.replace(/\/+$/, '');

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    if (prefix && url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) return false;
    const path = url.pathname.slice(prefix.length) || '/';
    if (!state.baseUrl && req.headers.host) state.baseUrl = `http://${req.headers.host}${prefix}`;
    const method = (req.method ?? 'GET').toUpperCase();
    try {
      if (path.startsWith('/api/')) {
        await handleApi(state, req, res, decodeURIComponent(path.slice(5)), url, bodyLimit);
        return true;
      }
      if (path.startsWith('/upload/v1/') && (method === 'POST' || method === 'PUT')) {
        const [fileId = '', token = ''] = path.slice('/upload/v1/'.length).split('/');
        const body = await readBody(req, bodyLimit);
        const ct = req.headers['content-type'] ?? '';
        let content = body;
        if (/^multipart\/form-data/i.test(ct)) {
          const parts = parseMultipart(body, ct);
          const part = parts.find((p) => p.filename !== undefined) ?? parts[0];
          content = part?.data ?? Buffer.alloc(0);
        }
        const result = state.receiveUpload(fileId, token, content);
        send(res, result.status, result.text);
        return true;
      }
      if (path.startsWith('/response/') && method === 'POST') {
        const id = decodeURIComponent(path.slice('/response/'.length));
        const raw = (await readBody(req, bodyLimit)).toString('utf8');
        let body: Args;
        try {
          const ct = req.headers['content-type'] ?? '';
          body = /json/i.test(ct) || raw.trimStart().startsWith('{') ? (JSON.parse(raw) as Args) : parseForm(raw);
          if (typeof body !== 'object' || body === null) throw new Error('not an object');
        } catch {
          send(res, 400, { ok: false, error: 'invalid_payload' });
          return true;
        }
        const result = state.respond(id, body);
        send(res, result.status, result.body);
        return true;
      }
      if (path.startsWith('/files/') && method === 'GET') {
        const token = bearer(req);
        if (!token || !state.isValidToken(token)) {
          send(res, 403, 'Forbidden');
          return true;
        }
        const id = path.split('/')[2] ?? '';
        const file = state.file(id);
        if (!file?.content) send(res, 404, 'Not Found');
        else {
          res.writeHead(200, { 'content-type': file.mimetype, 'content-length': String(file.content.length) });
          res.end(file.content);
        }
        return true;
      }
      if (path.startsWith('/_emulator/')) {
        await handleInspection(state, req, res, path.slice('/_emulator/'.length), url, bodyLimit);
        return true;
      }
      send(res, 404, { ok: false, error: 'not_found' });
      return true;
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) send(res, status, { ok: false, error: err instanceof Error ? err.message : String(err) });
      else res.end();
      return true;
    }
  };
}

async function handleApi(
  state: SlackEmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  apiMethod: string,
  url: URL,
  bodyLimit: number,
): Promise<void> {
  const args: Args = {};
  for (const [k, v] of url.searchParams) args[k] = v;
  const ct = req.headers['content-type'] ?? '';
  const raw = await readBody(req, bodyLimit);
  let tokenFromBody: string | undefined;
  if (raw.length > 0) {
    if (/^application\/json/i.test(ct)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        send(res, 200, { ok: false, error: 'invalid_json' });
        return;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        send(res, 200, { ok: false, error: 'invalid_json' });
        return;
      }
      // Slack does not accept a token inside a JSON body: it must come in the Authorization header.
      Object.assign(args, parsed);
      delete args.token;
    } else if (/^multipart\/form-data/i.test(ct)) {
      for (const part of parseMultipart(raw, ct)) {
        args[part.name] = part.filename !== undefined ? part.data : part.data.toString('utf8');
      }
      tokenFromBody = typeof args.token === 'string' ? args.token : undefined;
    } else {
      Object.assign(args, parseForm(raw.toString('utf8')));
      tokenFromBody = typeof args.token === 'string' ? args.token : undefined;
    }
  } else if (typeof args.token === 'string') {
    tokenFromBody = args.token;
  }
  const token = bearer(req) ?? tokenFromBody;
  const result = await state.invoke(apiMethod, args, token);
  send(res, result.status, result.body, result.headers);
}

async function readJson(req: IncomingMessage, bodyLimit: number): Promise<Args> {
  const raw = (await readBody(req, bodyLimit)).toString('utf8');
  if (raw.trim() === '') return {};
  try {
    return JSON.parse(raw) as Args;
  } catch {
    throw new HttpError(400, 'invalid_json');
  }
}

async function handleInspection(
  state: SlackEmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  what: string,
  url: URL,
  bodyLimit: number,
): Promise<void> {
  const q = (k: string) => url.searchParams.get(k) ?? undefined;
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'GET') {
    switch (what) {
      case 'calls': {
        const since = Number(q('since') ?? 0);
        send(res, 200, { calls: state.calls(q('method')).filter((c) => c.seq > since) });
        return;
      }
      case 'messages':
        send(res, 200, {
          messages: state.messages(q('channel'), { includeDeleted: q('include_deleted') === 'true' }),
        });
        return;
      case 'ephemerals':
        send(res, 200, { ephemerals: state.ephemerals(q('user')) });
        return;
      case 'files':
        send(res, 200, {
          files: state.files().map((f) => ({
            ...state.fileJson(f),
            uploaded: f.uploaded,
            completed: f.completed,
            content_base64: f.content?.toString('base64'),
          })),
        });
        return;
      case 'views':
        send(res, 200, { views: state.openedViews() });
        return;
      case 'users':
        send(res, 200, { users: state.users });
        return;
      case 'usergroups':
        send(res, 200, { usergroups: state.usergroups });
        return;
      case 'channels':
        send(res, 200, { channels: state.channels });
        return;
      default:
        send(res, 404, { ok: false, error: 'not_found' });
        return;
    }
  }
  if (method !== 'POST') {
    send(res, 405, { ok: false, error: 'method_not_allowed' });
    return;
  }
  const body = await readJson(req, bodyLimit);
  switch (what) {
    case 'reset':
      state.reset({ all: body.all === true });
      break;
    case 'users':
      state.addUser(body as unknown as Parameters<SlackEmulatorState['addUser']>[0]);
      break;
    case 'usergroups':
      state.addUsergroup(String(body.id), (body.users as string[] | undefined) ?? []);
      break;
    case 'channels':
      state.addChannel(body as unknown as Parameters<SlackEmulatorState['addChannel']>[0]);
      break;
    case 'rate-limit':
      state.rateLimit(String(body.method), {
        calls: Number(body.calls ?? 1),
        retryAfter: Number(body.retryAfter ?? 1),
      });
      break;
    case 'latency':
      state.setLatency(String(body.method), Number(body.ms ?? 0));
      break;
    case 'fail':
      state.failNext(String(body.method), String(body.error), {
        calls: Number(body.calls ?? 1),
        status: Number(body.status ?? 200),
      });
      break;
    default:
      send(res, 404, { ok: false, error: 'not_found' });
      return;
  }
  send(res, 200, { ok: true });
}

export interface FakeSlack {
  /** Base URL, e.g. http://127.0.0.1:54321 */
  url: string;
  /** Value for WebClient's `slackApiUrl` (and dockhand's SLACK_API_URL): `${url}/api/` */
  apiUrl: string;
  state: SlackEmulatorState;
  server: Server;
  close(): Promise<void>;
}

export interface StartFakeSlackOptions extends SlackEmulatorOptions {
  /** Use an existing state instead of creating one. */
  state?: SlackEmulatorState;
  host?: string;
  port?: number;
}

/** Starts the emulator on its own HTTP server (127.0.0.1, random port by default). */
export async function startFakeSlack(options: StartFakeSlackOptions = {}): Promise<FakeSlack> {
  const { state: given, host = '127.0.0.1', port = 0, ...stateOptions } = options;
  const state = given ?? new SlackEmulatorState(stateOptions);
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: actualPort } = server.address() as AddressInfo;
  const url = `http://${host}:${actualPort}`;
  const handler = createSlackWebApiHandler(state, { baseUrl: url });
  server.on('request', (req, res) => {
    void handler(req, res);
  });
  return {
    url,
    apiUrl: `${url}/api/`,
    state,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
