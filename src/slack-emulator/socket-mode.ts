/**
 * Socket Mode emulator: Slack's side of a Socket Mode connection, for the client in @slack/socket-mode (which
 * Bolt's `socketMode: true` uses).
 *
 *   apps.connections.open (state.ts; app-level token only) → { ok, url: 'ws://127.0.0.1:<port>/link?ticket=…&app_id=…' }
 *   GET /link?ticket=… (WebSocket upgrade, RFC 6455, no extensions) → the connection:
 *     - sends `{ type: 'hello', num_connections, debug_info, connection_info: { app_id } }` once open (the client
 *       treats itself as connected, and Bolt's `app.start()` resolves, only on this message);
 *     - answers the client's pings with pongs (the client drops a connection whose pings go unanswered) and pings
 *       the client every `pingIntervalMs` (the client drops one that stops pinging once it has pinged);
 *     - delivers envelopes `{ envelope_id, type, accepts_response_payload, payload }` and records the client's
 *       acks `{ envelope_id, payload? }`;
 *     - sends `{ type: 'disconnect', reason: 'refresh_requested' }` on request, as Slack does before recycling a
 *       connection (`?debug_reconnects=true` on the URL schedules one after `debugReconnectAfterMs`).
 *
 * Tickets are single-use and expire after `ticketTtlMs`. The WebSocket server is written here on node:http's
 * `upgrade` event rather than taken from a package: the emulator is product code (the local console) and the
 * client needs nothing beyond text frames, ping/pong and the close handshake.
 *
 * `SocketModeRequestClient` is the signed request client (requests.ts) with its transport swapped: the same
 * slash command and block_actions payloads (response_url and trigger_id registered with the emulator state)
 * delivered as envelopes, the ack's payload standing for the HTTP response body.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ClickButtonInput, type SlackHttpResult, SlackRequestClient, type SlashCommandInput } from './requests.ts';
import type { Args, SlackEmulatorState, SocketModeUrlIssuer } from './state.ts';

// ---------------------------------------------------------------------------------------------------------------
// WebSocket framing (server side)
// ---------------------------------------------------------------------------------------------------------------

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

class ProtocolError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** One server-side WebSocket: parses the client's (masked) frames, writes unmasked ones. */
class WsPeer {
  readonly socket: Duplex;
  onMessage: (text: string, binary: boolean) => void = () => {};
  onPing: (data: Buffer) => void = () => {};
  onPong: (data: Buffer) => void = () => {};
  onClose: (code: number, reason: string, by: 'client' | 'server' | 'network') => void = () => {};
  /** Answer pings automatically (a WebSocket endpoint must). */
  autoPong = true;

  private buffer: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragmentOpcode = 0;
  private closeSent = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private finished = false;

  constructor(socket: Duplex) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => {});
    socket.on('close', () => this.finish(1006, '', this.closeSent ? 'server' : 'network'));
  }

  get open(): boolean {
    return !this.finished && !this.closeSent;
  }

  receive(chunk: Buffer): void {
    if (this.finished) return;
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      for (let frame = this.parse(); frame; frame = this.parse()) {
        this.handle(frame);
        if (this.finished) return;
      }
    } catch (err) {
      const e = err instanceof ProtocolError ? err : new ProtocolError(1011, String(err));
      this.close(e.code, e.message.slice(0, 100));
    }
  }

  sendText(text: string): void {
    if (this.open) this.write(OP_TEXT, Buffer.from(text, 'utf8'));
  }

  ping(data: Buffer = Buffer.alloc(0)): void {
    if (this.open) this.write(OP_PING, data);
  }

  /** Starts the close handshake; the socket is destroyed if the client does not answer within 2 s. */
  close(code = 1000, reason = ''): void {
    if (this.finished || this.closeSent) return;
    const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
    payload.writeUInt16BE(code, 0);
    payload.write(reason, 2);
    this.write(OP_CLOSE, payload);
    this.closeSent = true;
    this.closeTimer = setTimeout(() => this.socket.destroy(), 2000);
    this.closeTimer.unref();
  }

  /** Drops the TCP connection without a close frame (a network failure, as the client sees it). */
  destroy(): void {
    this.socket.destroy();
  }

  private write(opcode: number, payload: Buffer): void {
    const len = payload.length;
    let header: Buffer;
    if (len < 126) {
      header = Buffer.alloc(2);
      header.writeUInt8(len, 1);
    } else if (len < 65_536) {
      header = Buffer.alloc(4);
      header.writeUInt8(126, 1);
      header.writeUInt16BE(len, 2);
    } else {
      header = Buffer.alloc(10);
      header.writeUInt8(127, 1);
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    header.writeUInt8(0x80 | opcode, 0);
    this.socket.write(Buffer.concat([header, payload]));
  }

  private parse(): Frame | undefined {
    const buf = this.buffer;
    if (buf.length < 2) return undefined;
    const b0 = buf.readUInt8(0);
    const b1 = buf.readUInt8(1);
    if ((b0 & 0x70) !== 0) throw new ProtocolError(1002, 'RSV bits set without a negotiated extension');
    if ((b1 & 0x80) === 0) throw new ProtocolError(1002, 'client frames must be masked');
    let len = b1 & 0x7f;
    let offset = 2;
    if (len === 126) {
      if (buf.length < 4) return undefined;
      len = buf.readUInt16BE(2);
      offset = 4;
    } else if (len === 127) {
      if (buf.length < 10) return undefined;
      const big = buf.readBigUInt64BE(2);
      if (big > BigInt(MAX_MESSAGE_BYTES)) throw new ProtocolError(1009, 'message too big');
      len = Number(big);
      offset = 10;
    }
    if (len > MAX_MESSAGE_BYTES) throw new ProtocolError(1009, 'message too big');
    if (buf.length < offset + 4 + len) return undefined;
    const mask = buf.subarray(offset, offset + 4);
    const payload = Buffer.from(buf.subarray(offset + 4, offset + 4 + len));
    for (let i = 0; i < payload.length; i++) payload.writeUInt8(payload.readUInt8(i) ^ mask.readUInt8(i % 4), i);
    this.buffer = buf.subarray(offset + 4 + len);
    return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload };
  }

  private handle(frame: Frame): void {
    const { fin, opcode, payload } = frame;
    if (opcode >= 0x8) {
      if (!fin || payload.length > 125) throw new ProtocolError(1002, 'invalid control frame');
      if (opcode === OP_PING) {
        this.onPing(payload);
        if (this.autoPong && this.open) this.write(OP_PONG, payload);
      } else if (opcode === OP_PONG) {
        this.onPong(payload);
      } else if (opcode === OP_CLOSE) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        const reason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
        const by = this.closeSent ? 'server' : 'client';
        // Echo the client's close (RFC 6455 §5.5.1), then end the TCP connection: the server closes first.
        if (!this.closeSent) this.write(OP_CLOSE, payload.length >= 2 ? payload.subarray(0, 2) : Buffer.alloc(0));
        this.closeSent = true;
        this.socket.end();
        this.finish(code, reason, by);
      } else {
        throw new ProtocolError(1002, `unknown opcode ${opcode}`);
      }
      return;
    }
    if (opcode === OP_CONTINUATION) {
      if (this.fragments.length === 0) throw new ProtocolError(1002, 'continuation without a message');
    } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
      if (this.fragments.length > 0) throw new ProtocolError(1002, 'new message inside a fragmented one');
      this.fragmentOpcode = opcode;
    } else {
      throw new ProtocolError(1002, `unknown opcode ${opcode}`);
    }
    this.fragments.push(payload);
    if (!fin) return;
    const data = Buffer.concat(this.fragments);
    this.fragments = [];
    if (this.fragmentOpcode === OP_TEXT) {
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(data);
      } catch {
        throw new ProtocolError(1007, 'invalid UTF-8 in a text message');
      }
      this.onMessage(text, false);
    } else this.onMessage(data.toString('base64'), true);
  }

  private finish(code: number, reason: string, by: 'client' | 'server' | 'network'): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.closeTimer);
    this.onClose(code, reason, by);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------------------------------

export type SocketEnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/** What Slack sends over the socket for one request. */
export interface SocketEnvelope {
  envelope_id: string;
  type: SocketEnvelopeType;
  accepts_response_payload: boolean;
  payload: Args;
  retry_attempt?: number;
  retry_reason?: string;
}

export interface DeliveredEnvelope {
  envelope: SocketEnvelope;
  connectionId: number;
  /** ms since epoch */
  sentAt: number;
}

/** An acknowledgement the client sent: `{ envelope_id, payload? }`. */
export interface SocketAck {
  envelope_id: string;
  /** As the client sent it: @slack/socket-mode always sends one (`{}` for a bare `ack()`). */
  payload?: Args;
  connectionId: number;
  /** ms since epoch */
  at: number;
  /** ms from delivering the envelope to receiving this ack (undefined for an envelope this emulator never sent). */
  latencyMs?: number;
}

export interface SocketConnection {
  id: number;
  appToken: string;
  /** The URL the client connected to (path and query). */
  path: string;
  openedAt: number;
  closedAt?: number;
  closeCode?: number;
  closeReason?: string;
  /** Who started the close: 'network' is a TCP drop without a close frame. */
  closedBy?: 'client' | 'server' | 'network';
  pingsReceived: number;
  pongsReceived: number;
  /** Text messages from the client that were not acks (unparseable JSON, no envelope_id). */
  otherMessages: string[];
  /** Every message sent to the client, in order (hello, envelopes, disconnect). */
  sent: Args[];
}

export interface SocketModeEmulatorOptions {
  host?: string;
  port?: number;
  /** Server pings to the client; 0 = none. Default 5000 ms. */
  pingIntervalMs?: number;
  /** Answer the client's pings (default true); false simulates a dead connection the client must drop. */
  answerPings?: boolean;
  /** Lifetime of a URL from apps.connections.open. Default 30 s. */
  ticketTtlMs?: number;
  /** With `?debug_reconnects=true` on the URL, a `refresh_requested` disconnect after this long. Default 360 s. */
  debugReconnectAfterMs?: number;
  now?: () => number;
}

interface Ticket {
  appToken: string;
  issuedAt: number;
  used: boolean;
}

interface Live {
  info: SocketConnection;
  peer: WsPeer;
  timers: NodeJS.Timeout[];
}

export class SocketModeEmulator implements SocketModeUrlIssuer {
  readonly state: SlackEmulatorState;
  readonly server: Server;
  private readonly options: SocketModeEmulatorOptions;
  private readonly now: () => number;
  private readonly tickets = new Map<string, Ticket>();
  private readonly live = new Map<number, Live>();
  private readonly all: SocketConnection[] = [];
  private readonly delivered = new Map<string, DeliveredEnvelope>();
  private readonly ackList: SocketAck[] = [];
  private readonly listeners = new Set<() => void>();
  private nextId = 1;
  private base: string | undefined;

  constructor(state: SlackEmulatorState, options: SocketModeEmulatorOptions = {}) {
    this.state = state;
    this.options = options;
    this.now = options.now ?? Date.now;
    this.server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket' });
      res.end('Upgrade Required');
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!this.handleUpgrade(req, socket, head)) reject(socket, 404, 'Not Found');
    });
  }

  /** Listens (127.0.0.1, a free port by default) and attaches to the state's `apps.connections.open`. */
  async start(): Promise<this> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.base = `ws://${host}:${(this.server.address() as AddressInfo).port}`;
    this.state.socketMode = this;
    return this;
  }

  /** ws://host:port */
  get url(): string {
    if (!this.base) throw new Error('SocketModeEmulator: not started');
    return this.base;
  }

  /** SocketModeUrlIssuer: a single-use URL for a connection made with `appToken`. */
  issueUrl(appToken: string): string {
    const ticket = randomBytes(16).toString('hex');
    this.tickets.set(ticket, { appToken, issuedAt: this.now(), used: false });
    return `${this.url}/link?ticket=${ticket}&app_id=${encodeURIComponent(this.state.bot.appId)}`;
  }

  /**
   * Handles an upgrade request for `/link`; returns false (writing nothing) for other paths, so it can share a
   * server with other upgrade handlers.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    if (url.pathname !== '/link' && url.pathname !== '/link/') return false;
    const key = req.headers['sec-websocket-key'];
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || typeof key !== 'string') {
      reject(socket, 400, 'Bad Request');
      return true;
    }
    if (req.headers['sec-websocket-version'] !== '13') {
      reject(socket, 426, 'Upgrade Required', { 'sec-websocket-version': '13' });
      return true;
    }
    const ticketId = url.searchParams.get('ticket') ?? '';
    const ticket = this.tickets.get(ticketId);
    if (!ticket || ticket.used || this.now() - ticket.issuedAt > (this.options.ticketTtlMs ?? 30_000)) {
      reject(socket, 401, 'Unauthorized');
      return true;
    }
    ticket.used = true;
    const accept = createHash('sha1')
      .update(key + WS_GUID)
      .digest('base64');
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    const peer = new WsPeer(socket);
    peer.autoPong = this.options.answerPings ?? true;
    const info: SocketConnection = {
      id: this.nextId++,
      appToken: ticket.appToken,
      path: `${url.pathname}${url.search}`,
      openedAt: this.now(),
      pingsReceived: 0,
      pongsReceived: 0,
      otherMessages: [],
      sent: [],
    };
    const live: Live = { info, peer, timers: [] };
    this.live.set(info.id, live);
    this.all.push(info);
    peer.onPing = () => {
      info.pingsReceived += 1;
      this.changed();
    };
    peer.onPong = () => {
      info.pongsReceived += 1;
      this.changed();
    };
    peer.onMessage = (text, binary) => this.receive(info, text, binary);
    peer.onClose = (code, reason, by) => {
      for (const t of live.timers) clearTimeout(t);
      this.live.delete(info.id);
      Object.assign(info, { closedAt: this.now(), closeCode: code, closeReason: reason, closedBy: by });
      this.changed();
    };
    this.sendTo(live, {
      type: 'hello',
      num_connections: this.live.size,
      debug_info: { host: 'applink-emulator', build_number: 1, approximate_connection_time: 18_060 },
      connection_info: { app_id: this.state.bot.appId },
    });
    const pingMs = this.options.pingIntervalMs ?? 5000;
    if (pingMs > 0) {
      const timer = setInterval(() => peer.ping(Buffer.from(`ping ${this.now()}`)), pingMs);
      timer.unref();
      live.timers.push(timer);
    }
    if (url.searchParams.get('debug_reconnects') === 'true') {
      const timer = setTimeout(
        () => this.requestDisconnect('refresh_requested', info.id),
        this.options.debugReconnectAfterMs ?? 360_000,
      );
      timer.unref();
      live.timers.push(timer);
    }
    if (head.length > 0) peer.receive(head);
    this.changed();
    return true;
  }

  /** Every connection made so far, oldest first (closed ones included). */
  connections(): SocketConnection[] {
    return [...this.all];
  }

  /** Open connections, oldest first. */
  openConnections(): SocketConnection[] {
    return [...this.live.values()].map((l) => l.info);
  }

  acks(): SocketAck[] {
    return [...this.ackList];
  }

  envelopes(): DeliveredEnvelope[] {
    return [...this.delivered.values()];
  }

  /**
   * Sends an envelope to a connection (the newest open one unless `connectionId` is given), as Slack does for a
   * request to a Socket Mode app. Throws if there is no open connection (Slack would fail the request).
   */
  deliver(
    type: SocketEnvelopeType,
    payload: Args,
    opts: { connectionId?: number; acceptsResponsePayload?: boolean; retryAttempt?: number; retryReason?: string } = {},
  ): DeliveredEnvelope {
    const live = opts.connectionId !== undefined ? this.live.get(opts.connectionId) : [...this.live.values()].at(-1);
    if (!live) {
      throw new Error(
        `SocketModeEmulator: no open Socket Mode connection${opts.connectionId !== undefined ? ` #${opts.connectionId}` : ''}`,
      );
    }
    const envelope: SocketEnvelope = {
      envelope_id: randomUUID(),
      type,
      accepts_response_payload: opts.acceptsResponsePayload ?? type !== 'events_api',
      payload,
    };
    if (opts.retryAttempt !== undefined) envelope.retry_attempt = opts.retryAttempt;
    if (opts.retryReason !== undefined) envelope.retry_reason = opts.retryReason;
    const delivered: DeliveredEnvelope = { envelope, connectionId: live.info.id, sentAt: this.now() };
    this.delivered.set(envelope.envelope_id, delivered);
    this.sendTo(live, envelope as unknown as Args);
    this.changed();
    return delivered;
  }

  /** Resolves with the ack for `envelopeId`; rejects after `timeoutMs` (Slack gives up after 3 s). */
  waitForAck(envelopeId: string, timeoutMs = 3000): Promise<SocketAck> {
    return this.waitFor(() => this.ackList.find((a) => a.envelope_id === envelopeId), timeoutMs, `ack ${envelopeId}`);
  }

  /** Resolves with the `count`-th connection made (1 = the first), once it is open and has been sent hello. */
  waitForConnection(count = 1, timeoutMs = 10_000): Promise<SocketConnection> {
    return this.waitFor(() => this.all[count - 1], timeoutMs, `connection #${count}`);
  }

  /** Resolves once connection `id` is closed. */
  waitForClose(id: number, timeoutMs = 10_000): Promise<SocketConnection> {
    return this.waitFor(
      () => this.all.find((c) => c.id === id && c.closedAt !== undefined),
      timeoutMs,
      `connection #${id} closed`,
    );
  }

  /**
   * Sends `{ type: 'disconnect', reason }` to one open connection (or all of them), as Slack does before it
   * recycles one; the client is expected to close it and connect again. Returns how many were asked.
   */
  requestDisconnect(reason = 'refresh_requested', connectionId?: number): number {
    let asked = 0;
    for (const live of this.live.values()) {
      if (connectionId !== undefined && live.info.id !== connectionId) continue;
      this.sendTo(live, { type: 'disconnect', reason, debug_info: { host: 'applink-emulator' } });
      asked += 1;
    }
    return asked;
  }

  /** Drops a connection's TCP socket without a close frame. */
  dropConnection(connectionId: number): void {
    this.live.get(connectionId)?.peer.destroy();
  }

  /** Closes every connection (close code 1001) and the server; detaches from the state. */
  async close(): Promise<void> {
    if (this.state.socketMode === this) this.state.socketMode = undefined;
    for (const live of this.live.values()) live.peer.close(1001, 'going away');
    const closing = [...this.live.keys()].map((id) => this.waitForClose(id, 3000).catch(() => undefined));
    await Promise.all(closing);
    for (const live of this.live.values()) live.peer.destroy();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Subscribes to every change (connections, envelopes, acks); returns an unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the first truthy value of `predicate`, re-evaluated after every change. */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 5000, label = 'condition'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const value = predicate();
        if (value) {
          cleanup();
          resolve(value);
        }
      };
      const unsubscribe = this.onChange(check);
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`SocketModeEmulator: waitFor(${label}) timed out after ${timeoutMs} ms.\n${this.dump()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        unsubscribe();
      };
      check();
    });
  }

  /** Human-readable summary of the connections, envelopes and acks (for failure messages). */
  dump(): string {
    const lines = [`Socket Mode connections (${this.all.length}):`];
    for (const c of this.all) {
      const state =
        c.closedAt === undefined
          ? 'open'
          : `closed ${c.closeCode} by ${c.closedBy}${c.closeReason ? ` (${c.closeReason})` : ''}`;
      lines.push(`  #${c.id} ${c.path.replace(/ticket=[^&]+/, 'ticket=…')} ${state}, ${c.pingsReceived} pings in`);
    }
    const acked = new Set(this.ackList.map((a) => a.envelope_id));
    lines.push(`Envelopes (${this.delivered.size}):`);
    for (const d of [...this.delivered.values()].slice(-10)) {
      const p = d.envelope.payload;
      const what = typeof p.command === 'string' ? `${p.command} ${String(p.text ?? '')}` : String(p.type ?? '');
      lines.push(
        `  ${d.envelope.envelope_id} ${d.envelope.type} ${what} → #${d.connectionId} ${acked.has(d.envelope.envelope_id) ? 'acked' : 'NOT acked'}`,
      );
    }
    return lines.join('\n');
  }

  private sendTo(live: Live, message: Args): void {
    live.info.sent.push(message);
    live.peer.sendText(JSON.stringify(message));
  }

  private receive(info: SocketConnection, text: string, binary: boolean): void {
    let message: unknown;
    try {
      message = binary ? undefined : JSON.parse(text);
    } catch {
      message = undefined;
    }
    if (typeof message !== 'object' || message === null || typeof (message as Args).envelope_id !== 'string') {
      info.otherMessages.push(text);
      this.changed();
      return;
    }
    const { envelope_id, payload } = message as { envelope_id: string; payload?: unknown };
    const at = this.now();
    const ack: SocketAck = { envelope_id, connectionId: info.id, at };
    if (typeof payload === 'object' && payload !== null) ack.payload = payload as Args;
    const delivered = this.delivered.get(envelope_id);
    if (delivered) ack.latencyMs = at - delivered.sentAt;
    this.ackList.push(ack);
    this.changed();
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }
}

function reject(socket: Duplex, status: number, text: string, headers: Record<string, string> = {}): void {
  const extra = Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\n${extra}` +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

/** Starts a Socket Mode emulator for `state` (127.0.0.1, a free port) and attaches it to apps.connections.open. */
export function startSocketModeEmulator(
  state: SlackEmulatorState,
  options: SocketModeEmulatorOptions = {},
): Promise<SocketModeEmulator> {
  return new SocketModeEmulator(state, options).start();
}

// ---------------------------------------------------------------------------------------------------------------
// Requests over the socket
// ---------------------------------------------------------------------------------------------------------------

export interface SocketModeRequestClientOptions {
  socket: SocketModeEmulator;
  /** Channel used when a request names none. Default '#deploys'. */
  defaultChannel?: string;
  /** Legacy verification token sent in payloads. Default 'emulator-verification-token'. */
  verificationToken?: string;
  /** How long to wait for the ack. Default 3000 ms (Slack's limit). */
  ackTimeoutMs?: number;
}

/** A request's outcome over Socket Mode: `body` is the ack's payload ('' for a bare `ack()`). */
export interface SocketModeResult extends SlackHttpResult {
  envelope: SocketEnvelope;
  ack: SocketAck;
}

/**
 * The request client of requests.ts over Socket Mode: the same slash command fields (as an object of strings)
 * and the same block_actions payload, delivered as `slash_commands` / `interactive` envelopes. A result has
 * status 200 once the ack arrives (`body`: its payload, '' when empty, as an HTTP ack's empty body); no ack
 * within `ackTimeoutMs` rejects. `sign` options do not apply: Socket Mode requests are not signed.
 */
export class SocketModeRequestClient extends SlackRequestClient {
  readonly socket: SocketModeEmulator;
  private readonly ackTimeoutMs: number;

  constructor(options: SocketModeRequestClientOptions) {
    super({
      url: options.socket.url,
      signingSecret: '',
      state: options.socket.state,
      ...(options.defaultChannel !== undefined ? { defaultChannel: options.defaultChannel } : {}),
      ...(options.verificationToken !== undefined ? { verificationToken: options.verificationToken } : {}),
    });
    this.socket = options.socket;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 3000;
  }

  /** Delivers what the HTTP client would POST (a slash command form or `payload=<JSON>`) and awaits the ack. */
  async post(rawBody: string, contentType: string): Promise<SlackHttpResult> {
    if (!/^application\/x-www-form-urlencoded/i.test(contentType)) {
      throw new Error(`SocketModeRequestClient: cannot send ${contentType} over Socket Mode`);
    }
    const form = new URLSearchParams(rawBody);
    const interactive = form.get('payload');
    const delivered =
      interactive !== null
        ? this.socket.deliver('interactive', JSON.parse(interactive) as Args)
        : this.socket.deliver('slash_commands', Object.fromEntries(form));
    const ack = await this.socket.waitForAck(delivered.envelope.envelope_id, this.ackTimeoutMs);
    const payload = ack.payload ?? {};
    const empty = Object.keys(payload).length === 0;
    const result: SocketModeResult = {
      status: 200,
      headers: {},
      text: empty ? '' : JSON.stringify(payload),
      body: empty ? '' : payload,
      durationMs: ack.latencyMs ?? 0,
      envelope: delivered.envelope,
      ack,
    };
    return result;
  }

  async slashCommand(input: SlashCommandInput): Promise<SocketModeResult> {
    return (await super.slashCommand(input)) as SocketModeResult;
  }

  async clickButton(input: ClickButtonInput): Promise<SocketModeResult> {
    return (await super.clickButton(input)) as SocketModeResult;
  }
}
