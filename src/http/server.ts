import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { PendingAcks } from './pending-acks.ts';
import { slackSignatureCheck } from './slack-signature.ts';

export interface HealthReport {
  ok: boolean;
  checks: Record<string, string>;
}

export interface HttpServerOptions {
  metrics: Metrics;
  logger: Logger;
  health: () => Promise<HealthReport>;
  /**
   * Bolt's HTTPReceiver request listener (HTTP mode); undefined in Socket Mode. It gets only requests whose signature
   * this server has checked (see slack-signature.ts): its receiver is made with `signatureVerification: false`.
   */
  slack?: RequestListener | undefined;
  /** The secret Slack signs its requests with; required with `slack`. */
  signingSecret?: string | undefined;
  slackPath?: string;
  /**
   * Checked before every route: answers (403) and returns false for a request this server must not serve. Local
   * mode refuses foreign Host and Origin headers, so a DNS-rebinding page cannot read /healthz or /metrics either.
   */
  allow?: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;
  /** More routes (the local console and its Slack emulator): handles the request and returns true, or returns false. */
  extra?: ((req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>) | undefined;
  /** Seconds a request's timestamp may differ from now, either way (Slack recommends 5 minutes). */
  maxClockSkewSec?: number;
  now?: () => number;
  /** Counts the Slack requests not acknowledged yet, so that work after an ack can let them go first. */
  pendingAcks?: PendingAcks;
}

/** Bolt's HTTPReceiver's own limit: a larger body is refused with 413. */
const SLACK_BODY_LIMIT = 4 * 1024 * 1024;

/** The request body, or undefined (the rest drained) once it passes `limit` bytes. */
export const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
      else {
        chunks.length = 0;
        resolve(undefined); // the rest is drained; resolving again at the end changes nothing
      }
    });
    req.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });

const MAY_HOLD_NULL = /(?:n|%6e)(?:u|%75)(?:l|%6c)(?:l|%6c)/i;

/**
 * Whether Bolt would parse this body to `null` (`payload=null`, or a JSON body `null`): its HTTPReceiver reads a
 * property of the parsed body outside its error handling, so such a request, once signed, would end the process.
 * Mirrors Bolt's parseHTTPRequestBody.
 */
const parsesToNull = (body: string, contentType: string | undefined): boolean => {
  // Only a body holding the letters of `null`, each maybe percent-encoded, can: a slash command's body does not, and is
  // told by this one scan instead of a third parse (Bolt parses it twice) before its ack. Clicks and dialogs carry
  // `"enterprise":null` and are parsed.
  if (!MAY_HOLD_NULL.test(body)) return false;
  try {
    if (contentType === 'application/x-www-form-urlencoded') {
      const { payload } = parseQuery(body);
      return typeof payload === 'string' && JSON.parse(payload) === null;
    }
    return JSON.parse(body) === null;
  } catch {
    return false; // Bolt answers 400 to what does not parse
  }
};

/**
 * Slack's SSL check (`ssl_check=1` in a form body), which Slack sends without a timestamp or a signature; answered
 * 200 and passed on to nobody, whatever else its body holds (Bolt answered it too, its body cut to `ssl_check=1`).
 */
const isSslCheck = (body: string, contentType: string | undefined): boolean =>
  contentType === 'application/x-www-form-urlencoded' &&
  body.includes('ssl_check') &&
  parseQuery(body).ssl_check === '1';

/** An SSL check is a few bytes: a longer body without a timestamp is refused unread. */
const SSL_CHECK_LIMIT = 1024;
const maySslCheck = (req: IncomingMessage): boolean =>
  req.headers['content-type'] === 'application/x-www-form-urlencoded' &&
  Number(req.headers['content-length']) <= SSL_CHECK_LIMIT;

const send = (res: ServerResponse, status: number, type: string, body: string) => {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
};

/**
 * One HTTP server for both modes: /healthz and /metrics always, /slack/events in HTTP mode. Slack requests
 * whose timestamp is more than five minutes off in EITHER direction or whose signature does not match are refused
 * here (Bolt's receiver checks neither: see slack-signature.ts), bodies that would crash Bolt's receiver are
 * refused (see parsesToNull), and the time to the first response byte, i.e. the acknowledgement, is measured for
 * /metrics.
 */
export const createHttpServer = (options: HttpServerOptions): Server => {
  const { metrics, logger, health } = options;
  const slackPath = options.slackPath ?? '/slack/events';
  const skew = options.maxClockSkewSec ?? 300;
  const now = options.now ?? Date.now;

  const signedBySlack = options.slack ? slackSignatureCheck(options.signingSecret ?? '') : undefined;

  const handleSlack = (req: IncomingMessage, res: ServerResponse, slack: RequestListener) => {
    const header = req.headers['x-slack-request-timestamp'];
    const stamp = Array.isArray(header) ? header[0] : header;
    const ts = Number(stamp);
    if (stamp === undefined || !Number.isFinite(ts) || Math.abs(now() / 1000 - ts) > skew) {
      const refuse = () => {
        logger.warn(
          { timestamp: header },
          'refused a Slack request whose timestamp is missing or more than 5 minutes off',
        );
        req.resume();
        send(res, 401, 'text/plain', 'stale or missing request timestamp');
      };
      // Slack's SSL check carries neither timestamp nor signature: a small form body is read to tell it apart.
      if (stamp !== undefined || !maySslCheck(req)) return refuse();
      readBody(req, SSL_CHECK_LIMIT)
        .then((body) => {
          if (body === undefined || !isSslCheck(body.toString('utf8'), req.headers['content-type'])) return refuse();
          res.writeHead(200).end(); // nothing of it reaches Bolt
        })
        .catch(refuse);
      return;
    }
    const started = process.hrtime.bigint();
    const answered = options.pendingAcks?.begin();
    if (answered) res.once('close', answered); // a request that ends without a response is not waited for
    const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => ServerResponse;
    let observed = false;
    (res as { writeHead: (...args: unknown[]) => ServerResponse }).writeHead = (...args: unknown[]) => {
      if (!observed) {
        observed = true;
        metrics.observeAck(Number(process.hrtime.bigint() - started) / 1e9);
        answered?.();
      }
      return writeHead(...args);
    };
    readBody(req, SLACK_BODY_LIMIT)
      .then((body) => {
        if (body === undefined) return send(res, 413, 'text/plain', 'request body too large');
        const contentType = req.headers['content-type'];
        const text = body.toString('utf8');
        if (isSslCheck(text, contentType)) {
          // Slack's check of the certificate, unsigned: answered here, and nothing of it reaches Bolt.
          res.writeHead(200).end();
          return;
        }
        const signature = req.headers['x-slack-signature'];
        if (!signedBySlack?.(stamp, body, Array.isArray(signature) ? undefined : signature)) {
          logger.warn('refused a Slack request whose signature does not match');
          return send(res, 401, 'text/plain', 'invalid request signature');
        }
        if (parsesToNull(text, contentType)) {
          logger.warn('refused a Slack request whose body is null');
          return send(res, 400, 'text/plain', 'malformed request body');
        }
        // Bolt reads a body already buffered as `rawBody` instead of the stream.
        Object.assign(req, { rawBody: body });
        slack(req, res);
      })
      .catch((err: unknown) => {
        logger.warn({ err }, 'could not read a Slack request');
        if (!res.headersSent) send(res, 400, 'text/plain', 'unreadable request body');
      });
  };

  return createServer((req, res) => {
    if (options.allow && !options.allow(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') {
      health()
        .then((report) => send(res, report.ok ? 200 : 503, 'application/json', JSON.stringify(report)))
        .catch((err: unknown) => {
          logger.error({ err }, 'health check failed');
          send(res, 503, 'application/json', JSON.stringify({ ok: false, checks: { app: 'error' } }));
        });
      return;
    }
    if (req.method === 'GET' && path === '/metrics') {
      metrics.registry
        .metrics()
        .then((text) => send(res, 200, metrics.registry.contentType, text))
        .catch(() => send(res, 500, 'text/plain', 'metrics unavailable'));
      return;
    }
    if (options.slack && path === slackPath) {
      if (req.method !== 'POST') return send(res, 405, 'text/plain', 'method not allowed');
      return handleSlack(req, res, options.slack);
    }
    if (options.extra) {
      Promise.resolve(options.extra(req, res))
        .then((handled) => {
          if (!handled) {
            req.resume();
            send(res, 404, 'text/plain', 'not found');
          }
        })
        .catch((err: unknown) => {
          logger.error({ err, path }, 'request failed');
          if (!res.headersSent) send(res, 500, 'text/plain', 'internal error');
        });
      return;
    }
    req.resume();
    send(res, 404, 'text/plain', 'not found');
  });
};
