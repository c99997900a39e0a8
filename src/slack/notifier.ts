/**
 * Posting to Slack from background work. `update` is throttled and coalescing (DESIGN.md §3.2):
 * - per card at most one chat.update every `minIntervalMs` (2 s); only the newest pending content is sent;
 *   content identical to what the card last received is not sent at all;
 * - across the app a token bucket (`perMinute`, `burst`) keeps chat.update (Slack's Tier 3) under ~40 a minute;
 * - a 429 pauses chat.update (that card and the bucket) for Retry-After, then the card's NEWEST content is sent;
 *   posts, ephemerals and uploads never queue behind updates;
 * - other transient failures are retried with backoff (doubling, at most `maxBackoffMs`) up to `retries` times, then
 *   logged: an update never throws into the pipeline; the card's NEWEST content is what each retry sends;
 * - a chat.update dockhand gave up on (timeout, dropped connection) may still be applied by Slack later, over newer
 *   content: once `lateLandingMs` has passed since, the card's newest content is sent once more, so the card ends
 *   showing the last state it was given (DESIGN.md §3.1).
 *
 * One scheduler loop decides what to send next (final states first, then the card waiting longest) and sleeps on
 * the injected Clock, so tests prove the throttle with a fake clock instead of waiting.
 */
import type { KnownBlock, WebClient } from '@slack/web-api';
import { DockhandError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Clock, MessageRef, Notifier, OutgoingMessage } from '../ports.ts';

export interface SlackNotifierOptions {
  /** Built by the caller with `rejectRateLimitedCalls: true`, a timeout and bounded retries (src/app.ts). */
  client: WebClient;
  /**
   * chat.update goes through this client (default `client`). Build it without retries of its own: a retry inside
   * the client hides a timed-out update that Slack may still apply late, and the notifier retries anyway.
   */
  updateClient?: WebClient;
  clock: Clock;
  logger: Logger;
  /** Per card: at least this long between two chat.update calls (default 2000). */
  minIntervalMs?: number;
  /** Across all cards: chat.update calls per minute, on average (default 40). */
  perMinute?: number;
  /** Across all cards: how many updates may go at once after a quiet spell (default 10). */
  burst?: number;
  /** A card's newest content is re-sent this many times after transient failures before dockhand gives up (8). */
  retries?: number;
  /** First backoff after a transient failure, doubled per attempt (default 1000)… */
  backoffMs?: number;
  /** …up to this (default 30 000): with the defaults, dockhand keeps trying for about two minutes. */
  maxBackoffMs?: number;
  /**
   * How long Slack may still apply a chat.update after dockhand gave up waiting for it (client timeout, dropped
   * connection). After that long, the card's newest content is sent again (default 60 000).
   */
  lateLandingMs?: number;
  /** post/ephemeral/upload wait out a 429 themselves when Retry-After is at most this (default 30 000). */
  maxRetryAfterMs?: number;
  /** Cards remembered (for coalescing and skipping identical content) before the least recent idle ones go (500). */
  maxCards?: number;
}

interface Job {
  message: OutgoingMessage;
  /** The serialised content: what "identical" compares. */
  body: string;
  /** updateNow: skips the per-card interval and goes before progress updates. */
  urgent: boolean;
  /** When the oldest content this job replaces was queued (fairness between cards). */
  since: number;
  attempts: number;
  waiters: (() => void)[];
  /** A re-send of content the card already accepted, after a late landing may have overwritten it. */
  resend?: boolean;
  /** Not before this time (a re-send waits for late landings). */
  notBefore?: number;
}

interface CardQueue {
  ref: MessageRef;
  next: Job | undefined;
  inFlight: boolean;
  lastBody: string | undefined;
  lastSentAt: number;
  /** Retry-After or backoff for this card. */
  notBefore: number;
  /** What the card was last written with (re-sent after a late landing). */
  lastMessage: OutgoingMessage | undefined;
  /** Until then, an update dockhand gave up on may still land over newer content. */
  doubtUntil: number;
  /** Re-sends made for late landings since the card last took new content (bounded by `retries`). */
  resends: number;
}

/** Slack's error codes that say "try again later"; anything else (message_not_found, invalid_blocks…) will not heal. */
const TRANSIENT_PLATFORM_ERRORS = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

interface SlackErrorShape {
  code?: unknown;
  retryAfter?: unknown;
  statusCode?: unknown;
  data?: { error?: unknown };
  message?: unknown;
}

const shapeOf = (err: unknown): SlackErrorShape =>
  typeof err === 'object' && err !== null ? (err as SlackErrorShape) : {};

/** Retry-After in ms when `err` is the WebClient's rate-limited error, else undefined. */
const retryAfterMs = (err: unknown): number | undefined => {
  const e = shapeOf(err);
  if (e.code !== 'slack_webapi_rate_limited_error') return undefined;
  return typeof e.retryAfter === 'number' && e.retryAfter > 0 ? e.retryAfter * 1000 : 1000;
};

/** A failure after which Slack may still apply the request: it was sent, but no answer came back. */
const isUnanswered = (err: unknown): boolean => shapeOf(err).code === 'slack_webapi_request_error';

const isTransient = (err: unknown): boolean => {
  const e = shapeOf(err);
  if (e.code === 'slack_webapi_request_error') return true; // network, timeout
  if (e.code === 'slack_webapi_http_error') return typeof e.statusCode === 'number' && e.statusCode >= 500;
  if (e.code === 'slack_webapi_platform_error') return TRANSIENT_PLATFORM_ERRORS.has(String(e.data?.error));
  return false;
};

const describeError = (err: unknown): string => {
  const e = shapeOf(err);
  if (typeof e.data?.error === 'string') return e.data.error;
  return typeof e.message === 'string' ? e.message : String(err);
};

/** Our builders produce Block Kit objects; the port keeps them opaque (`unknown[]`) so the core needs no Slack types. */
const blocksOf = (message: OutgoingMessage): KnownBlock[] | undefined => message.blocks as KnownBlock[] | undefined;

const HINTS: Record<string, string> = {
  not_in_channel: 'Invite dockhand to the channel (`/invite @dockhand`) or set another channel in dockhand.yml.',
  channel_not_found: 'Check the channel in dockhand.yml, and invite dockhand if it is private.',
  missing_scope: 'The Slack app lacks a scope: update it from manifest.yml and reinstall it.',
};

const cardKey = (ref: MessageRef): string => `${ref.channel}/${ref.ts}`;

export class SlackNotifier implements Notifier {
  private readonly client: WebClient;
  private readonly updateClient: WebClient;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly minIntervalMs: number;
  private readonly burst: number;
  private readonly refillPerMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly lateLandingMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly maxCards: number;

  private readonly cards = new Map<string, CardQueue>();
  private tokens: number;
  private tokensAt: number;
  /** A 429 on chat.update pauses every card's updates (Slack limits a method per workspace). */
  private globalNotBefore = 0;
  private inFlight = 0;
  private running = false;
  private wake: AbortController | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(options: SlackNotifierOptions) {
    this.client = options.client;
    this.updateClient = options.updateClient ?? options.client;
    this.clock = options.clock;
    this.logger = options.logger.child({ component: 'notifier' });
    this.minIntervalMs = options.minIntervalMs ?? 2000;
    const perMinute = options.perMinute ?? 40;
    this.burst = Math.max(1, options.burst ?? 10);
    this.refillPerMs = perMinute / 60_000;
    this.retries = options.retries ?? 8;
    this.backoffMs = options.backoffMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.lateLandingMs = options.lateLandingMs ?? 60_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.maxCards = options.maxCards ?? 500;
    this.tokens = this.burst;
    this.tokensAt = this.now();
  }

  async post(channel: string, message: OutgoingMessage, threadTs?: string): Promise<MessageRef> {
    const res = await this.direct(`post to ${channel}`, () =>
      this.client.chat.postMessage({
        channel,
        text: message.text,
        blocks: blocksOf(message),
        ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
      }),
    );
    if (!res.channel || !res.ts) {
      throw new DockhandError('slack', `post to ${channel}: Slack answered without a channel or ts`);
    }
    const ref = { channel: res.channel, ts: res.ts };
    // What we posted is what the card shows: an update with the same content is skipped.
    const card = this.card(ref);
    card.lastBody = JSON.stringify({ text: message.text, blocks: message.blocks });
    card.lastMessage = message;
    return ref;
  }

  update(ref: MessageRef, message: OutgoingMessage): Promise<void> {
    return this.enqueue(ref, message, false);
  }

  updateNow(ref: MessageRef, message: OutgoingMessage): Promise<void> {
    return this.enqueue(ref, message, true);
  }

  async ephemeral(channel: string, user: string, message: OutgoingMessage): Promise<void> {
    await this.direct(`show a message to ${user} in ${channel}`, () =>
      this.client.chat.postEphemeral({ channel, user, text: message.text, blocks: blocksOf(message) }),
    );
  }

  async upload(
    channel: string,
    file: { filename: string; content: string; title: string },
    threadTs?: string,
  ): Promise<void> {
    await this.direct(`upload ${file.filename} to ${channel}`, () =>
      threadTs
        ? this.client.files.uploadV2({ channel_id: channel, thread_ts: threadTs, ...file })
        : this.client.files.uploadV2({ channel_id: channel, ...file }),
    );
  }

  flush(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  // -------------------------------------------------------------------------------------------------------------
  // post / ephemeral / upload: sent at once; a short Retry-After is waited out for this call alone.

  private async direct<T>(action: string, call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        const wait = retryAfterMs(err);
        if (wait !== undefined && wait <= this.maxRetryAfterMs && attempt < 2) {
          this.logger.warn({ action, retryAfterMs: wait }, 'Slack rate limit: retrying after Retry-After');
          await this.clock.sleep(wait);
          continue;
        }
        const hint =
          wait === undefined ? HINTS[describeError(err)] : 'Slack is rate limiting dockhand; try again in a minute.';
        throw new DockhandError(
          'slack',
          `${action}: ${describeError(err)}`,
          hint ? { cause: err, hint } : { cause: err },
        );
      }
    }
  }

  // -------------------------------------------------------------------------------------------------------------
  // chat.update: queue, coalesce, schedule.

  private now(): number {
    return this.clock.now().getTime();
  }

  private card(ref: MessageRef): CardQueue {
    const key = cardKey(ref);
    let card = this.cards.get(key);
    if (card) {
      this.cards.delete(key); // re-insert: the map's order is least recently used first
    } else {
      card = {
        ref,
        next: undefined,
        inFlight: false,
        lastBody: undefined,
        lastSentAt: -Infinity,
        notBefore: 0,
        lastMessage: undefined,
        doubtUntil: -Infinity,
        resends: 0,
      };
    }
    this.cards.set(key, card);
    if (this.cards.size > this.maxCards) {
      for (const [k, c] of this.cards) {
        if (this.cards.size <= this.maxCards) break;
        if (!c.next && !c.inFlight) this.cards.delete(k);
      }
    }
    return card;
  }

  private enqueue(ref: MessageRef, message: OutgoingMessage, urgent: boolean): Promise<void> {
    const body = JSON.stringify({ text: message.text, blocks: message.blocks });
    const card = this.card(ref);
    return new Promise<void>((resolve) => {
      if (card.next?.resend) {
        // A planned re-send of what the card already holds: same content is already written; new content goes
        // now, as a normal update, and is itself re-sent after the late landings it may race with.
        if (body === card.next.body) {
          resolve();
          return;
        }
        card.next = { message, body, urgent, since: this.now(), attempts: 0, waiters: [resolve] };
      } else if (card.next) {
        // Coalesce: the newest content replaces what was waiting; everyone waiting is answered by it.
        card.next.message = message;
        card.next.body = body;
        card.next.urgent ||= urgent;
        card.next.attempts = 0;
        card.next.waiters.push(resolve);
      } else if (!card.inFlight && body === card.lastBody) {
        resolve();
        return;
      } else {
        card.next = { message, body, urgent, since: this.now(), attempts: 0, waiters: [resolve] };
      }
      this.kick();
    });
  }

  private idle(): boolean {
    if (this.inFlight > 0) return false;
    for (const card of this.cards.values()) if (card.next) return false;
    return true;
  }

  /** Starts the scheduler, or wakes it early when it sleeps (new urgent work, a finished call). */
  private kick(): void {
    if (this.running) {
      this.wake?.abort();
      return;
    }
    this.running = true;
    void this.run().finally(() => {
      this.running = false;
      if (this.idle()) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      } else if ([...this.cards.values()].some((c) => c.next && !c.inFlight)) {
        this.kick(); // work arrived while the loop was finishing
      }
    });
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.tokensAt) * this.refillPerMs);
    this.tokensAt = now;
  }

  private readyAt(card: CardQueue, job: Job): number {
    const interval = job.urgent ? -Infinity : card.lastSentAt + this.minIntervalMs;
    return Math.max(card.notBefore, this.globalNotBefore, interval, job.notBefore ?? -Infinity);
  }

  private async run(): Promise<void> {
    for (;;) {
      const now = this.now();
      this.refill(now);
      const waiting: { card: CardQueue; job: Job }[] = [];
      for (const card of this.cards.values()) {
        if (!card.next || card.inFlight) continue;
        if (card.next.body === card.lastBody && !card.next.resend) {
          this.settle(card.next); // identical to what the card shows: nothing to send
          card.next = undefined;
        } else {
          waiting.push({ card, job: card.next });
        }
      }
      // Nothing waits (calls in flight kick the loop again when they finish).
      if (waiting.length === 0) return;

      const ready = waiting
        .filter(({ card, job }) => this.readyAt(card, job) <= now)
        .sort((a, b) => Number(b.job.urgent) - Number(a.job.urgent) || a.job.since - b.job.since);
      let wakeAt = Infinity;
      for (const { card, job } of ready) {
        if (this.tokens < 1) {
          wakeAt = now + (1 - this.tokens) / this.refillPerMs;
          break;
        }
        this.tokens -= 1;
        card.next = undefined;
        void this.send(card, job, now);
      }
      for (const { card, job } of waiting) {
        if (card.next !== job) continue; // sent just now
        const at = this.readyAt(card, job);
        if (at > now) wakeAt = Math.min(wakeAt, at);
      }
      if (wakeAt === Infinity) return;
      this.wake = new AbortController();
      try {
        await this.clock.sleep(Math.max(1, Math.ceil(wakeAt - now)), this.wake.signal);
      } catch {
        // woken early by kick()
      } finally {
        this.wake = undefined;
      }
    }
  }

  private settle(job: Job): void {
    for (const w of job.waiters) w();
  }

  private async send(card: CardQueue, job: Job, now: number): Promise<void> {
    card.inFlight = true;
    card.lastSentAt = now;
    this.inFlight += 1;
    try {
      await this.updateClient.chat.update({
        channel: card.ref.channel,
        ts: card.ref.ts,
        text: job.message.text,
        blocks: blocksOf(job.message),
      });
      card.lastBody = job.body;
      card.lastMessage = job.message;
      if (!job.resend) card.resends = 0;
      this.settle(job);
      this.resendAfterLateLandings(card);
    } catch (err) {
      this.failed(card, job, err);
    } finally {
      card.inFlight = false;
      this.inFlight -= 1;
      this.kick();
    }
  }

  private failed(card: CardQueue, job: Job, err: unknown): void {
    const at = this.now();
    const log = { channel: card.ref.channel, ts: card.ref.ts };
    const wait = retryAfterMs(err);
    if (wait !== undefined) {
      // The whole chat.update lane waits; the newest content goes when it may.
      card.notBefore = Math.max(card.notBefore, at + wait);
      this.globalNotBefore = Math.max(this.globalNotBefore, at + wait);
      this.logger.warn({ ...log, retryAfterMs: wait }, 'chat.update rate limited: waiting Retry-After');
      this.requeue(card, job);
      return;
    }
    if (isUnanswered(err)) card.doubtUntil = Math.max(card.doubtUntil, at + this.lateLandingMs);
    if (isTransient(err) && job.attempts < this.retries) {
      const backoff = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** job.attempts);
      job.attempts += 1;
      card.notBefore = at + backoff;
      this.logger.warn(
        { ...log, attempt: job.attempts, backoffMs: backoff, error: describeError(err) },
        'chat.update failed: retrying',
      );
      this.requeue(card, job);
      return;
    }
    this.logger.error(
      { ...log, err, error: describeError(err), attempts: job.attempts + 1 },
      'chat.update failed: giving up; the card keeps its previous content until the next update',
    );
    this.settle(job);
    if (!card.next) card.doubtUntil = -Infinity; // nothing newer to protect: no re-send
  }

  /**
   * After a write, while an update dockhand gave up on may still land over it: plan one more write of the same
   * content once that can no longer happen (bounded: `retries` re-sends until the card takes new content).
   */
  private resendAfterLateLandings(card: CardQueue): void {
    const now = this.now();
    if (card.doubtUntil === -Infinity || card.next || !card.lastMessage || card.lastBody === undefined) return;
    if (card.resends >= this.retries) {
      this.logger.error(
        { channel: card.ref.channel, ts: card.ref.ts, resends: card.resends },
        'chat.update: giving up re-sending a card after late landings; it may show an older state',
      );
      card.doubtUntil = -Infinity;
      return;
    }
    if (card.lastSentAt >= card.doubtUntil) {
      // Sent after every late landing could have happened: the card shows this content.
      card.doubtUntil = -Infinity;
      return;
    }
    card.resends += 1;
    card.next = {
      message: card.lastMessage,
      body: card.lastBody,
      urgent: true,
      since: now,
      attempts: 0,
      waiters: [],
      resend: true,
      notBefore: card.doubtUntil,
    };
  }

  /** Puts a failed job back unless newer content is waiting, which then answers both. */
  private requeue(card: CardQueue, job: Job): void {
    if (card.next) {
      card.next.waiters.push(...job.waiters);
      card.next.urgent ||= job.urgent;
      card.next.since = Math.min(card.next.since, job.since);
    } else {
      card.next = job;
    }
  }
}
