import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import type { PendingAcks } from './pending-acks.ts';

export interface HealthReport {
  ok: boolean;
  checks: Record<string, string>;
}

export interface HttpServerOptions {
  metrics: Metrics;
  logger: Logger;
  health: () => Promise<HealthReport>;
  /** Bolt's HTTPReceiver request listener (HTTP mode); undefined in Socket Mode. */
  slack?: RequestListener | undefined;
  slackPath?: string;
  /** More routes (the local console and its Slack emulator): handles the request and returns true, or returns false. */
  extra?: ((req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>) | undefined;
  /** Seconds a request's timestamp may differ from now, either way (Slack recommends 5 minutes). */
  maxClockSkewSec?: number;
  now?: () => number;
  /** Counts the Slack requests not acknowledged yet, so that work after an ack can let them go first. */
  pendingAcks?: PendingAcks;
}

const send = (res: ServerResponse, status: number, type: string, body: string) => {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
};

/**
 * One HTTP server for both modes: /healthz and /metrics always, /slack/events in HTTP mode. Slack requests
 * whose timestamp is more than five minutes off in EITHER direction are refused here (Bolt checks only the
 * past), and the time to the first response byte, i.e. the acknowledgement, is measured for /metrics.
 */
export const createHttpServer = (options: HttpServerOptions): Server => {
  const { metrics, logger, health } = options;
  const slackPath = options.slackPath ?? '/slack/events';
  const skew = options.maxClockSkewSec ?? 300;
  const now = options.now ?? Date.now;

  const handleSlack = (req: IncomingMessage, res: ServerResponse, slack: RequestListener) => {
    const header = req.headers['x-slack-request-timestamp'];
    const ts = Number(Array.isArray(header) ? header[0] : header);
    if (!Number.isFinite(ts) || Math.abs(now() / 1000 - ts) > skew) {
      logger.warn(
        { timestamp: header },
        'refused a Slack request whose timestamp is missing or more than 5 minutes off',
      );
      req.resume();
      send(res, 401, 'text/plain', 'stale or missing request timestamp');
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
        metrics.ackLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
        answered?.();
      }
      return writeHead(...args);
    };
    slack(req, res);
  };

  return createServer((req, res) => {
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
