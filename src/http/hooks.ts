import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config/schema.ts';
import type { OperationRequest, RequestOutcome } from '../core/deploy/service.ts';
import { checkChangeWindow } from '../core/operate/freeze.ts';
import {
  ciDeploys,
  githubDeploys,
  parseCiDelivery,
  parseGithubPush,
  type TriggeredDeploy,
  TriggerRefusal,
  type TriggerSource,
} from '../core/trigger.ts';
import { Refusal } from '../domain/policy.ts';
import type { Logger } from '../logger.ts';
import type { Clock, Store } from '../ports.ts';
import { denialText } from '../slack/blocks/refusals.ts';
import { refusalReason } from '../slack/replies.ts';
import { readBody } from './server.ts';

/**
 * The deploy hooks (issue 14, item 2): `POST /hooks/ci` and `POST /hooks/github`. Each checks its signature (in
 * constant time), the freshness of a CI delivery and that no delivery is accepted twice, then asks for the deploys
 * through DeploymentService.request, the path of a typed /deploy (locks, audit, cards). Anything else is refused
 * with a 4xx and a JSON reason before anything is recorded or started. The scheme is in README.md ("Deploy hooks").
 */

export const CI_PATH = '/hooks/ci';
export const GITHUB_PATH = '/hooks/github';

/** A CI body is a few hundred bytes; a GitHub push can list many commits (GitHub caps payloads at 25 MB). */
const CI_BODY_LIMIT = 16 * 1024;
const GITHUB_BODY_LIMIT = 1024 * 1024;

export interface HookDeps {
  config: Config;
  /** The HMAC keys; a source without one is not served (404). */
  secrets: { ci?: string | undefined; github?: string | undefined };
  store: Pick<Store, 'recordDelivery' | 'forgetDelivery' | 'getState'>;
  /** For the environment's freezes and change windows (checked before each deploy, as for /deploy). */
  clock: Clock;
  /** DeploymentService.request. */
  request: (input: OperationRequest) => Promise<RequestOutcome>;
  logger: Logger;
  now?: () => number;
  /** Seconds a CI delivery's timestamp may differ from now, either way. */
  maxClockSkewSec?: number;
  /** Counts each delivery by its outcome: `started`, `refused` (every deploy refused), `ignored`, `pong`, or the error. */
  onDelivery?: (source: TriggerSource, outcome: string) => void;
}

/** A refusal: the status, a stable error code and the reason, as the JSON body `{ ok: false, error, reason }`. */
class HookRefusal extends Error {
  readonly status: number;
  readonly error: string;
  readonly reason: string;
  constructor(status: number, error: string, reason: string) {
    super(reason);
    this.status = status;
    this.error = error;
    this.reason = reason;
  }
}

const STATUS_OF = { malformed: 400, unknown_service: 404, unknown_environment: 404, not_allowed: 403 } as const;

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

/** A refusal written for Slack, as plain text for an HTTP client: mentions as `@U…`, no code quotes. */
const plainText = (mrkdwn: string): string =>
  mrkdwn
    .replace(/<@([A-Z0-9]+)>/g, '@$1')
    .replace(/<!subteam\^([A-Z0-9]+)>/g, '@$1')
    .replace(/`/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** `sha256=<hex>` of HMAC-SHA256(secret, payload). */
export const signatureOf = (secret: string, payload: string | Buffer): string =>
  `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;

/** Whether `given` is `sha256=<hex>` of HMAC-SHA256(secret, payload), compared in constant time. */
export const verifySignature = (secret: string, payload: Buffer, given: string): boolean => {
  const expected = Buffer.from(signatureOf(secret, payload));
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
};

/** The routes, as the HTTP server's `extra` handler: true when the request was one of them (and is answered). */
export const createHookRoutes = (deps: HookDeps) => {
  const { config, secrets, store, logger } = deps;
  const now = deps.now ?? Date.now;
  const skew = deps.maxClockSkewSec ?? 300;
  const log = logger.child({ component: 'hooks' });

  const body = async (req: IncomingMessage, limit: number): Promise<Buffer> => {
    const declared = Number(header(req, 'content-length'));
    const read = declared > limit ? undefined : await readBody(req, limit);
    if (read === undefined) {
      req.resume();
      throw new HookRefusal(413, 'too_large', `the body is larger than ${limit / 1024} KiB`);
    }
    return read;
  };

  const refuseUnsigned = (what: string): never => {
    throw new HookRefusal(401, 'unsigned', `${what} is missing`);
  };

  /** Records the delivery ids (refused as `replayed` when one was seen before) and returns them. */
  const firstDelivery = async (source: TriggerSource, ids: string[]): Promise<string[]> => {
    const at = new Date(now());
    const recorded: string[] = [];
    for (const id of ids) {
      if (!(await store.recordDelivery(source, id, at))) {
        await forget(source, recorded);
        throw new HookRefusal(409, 'replayed', 'this delivery was received before; nothing was started');
      }
      recorded.push(id);
    }
    return recorded;
  };

  /**
   * Forgets the ids just recorded when nothing started (each deploy refused, or a failure), so that the same
   * delivery sent again (GitHub's Redeliver, `curl --retry`) is served; the table's primary key still lets only one
   * replica start a delivery. A failure here leaves the delivery refused as replayed: logged, not raised.
   */
  const forget = async (source: TriggerSource, ids: string[]): Promise<void> => {
    if (ids.length === 0) return;
    try {
      await store.forgetDelivery(source, ids);
    } catch (e) {
      log.error({ err: e, source }, 'could not forget a hook delivery that started nothing; a retry is refused');
    }
  };

  /** Asks for each deploy; a refusal (locked…) of one does not stop the others. */
  const start = async (source: TriggerSource, deploys: TriggeredDeploy[]) => {
    const results = [];
    let failed = false;
    for (const { target, requester, request } of deploys) {
      const where = { service: target.service, environment: target.environment };
      try {
        // Freezes and change windows hold for hooks as for /deploy; a hook cannot break the glass.
        await checkChangeWindow({ store, clock: deps.clock }, target, 'deploy', undefined);
        const outcome = await deps.request({ kind: 'deploy', target, user: requester, request, triggered: true });
        if (outcome.result !== 'started') continue;
        const { id, seq } = outcome.deployment;
        log.info({ source, ...where, deployment: id }, 'a deploy hook requested a deployment');
        results.push({ ...where, started: { id, seq } });
      } catch (e) {
        if (!(e instanceof Refusal)) {
          failed = true;
          log.error({ err: e, source, ...where }, 'a deploy hook could not request a deployment');
          results.push({ ...where, refused: 'the deployment could not be requested; see dockhand’s log' });
        } else results.push({ ...where, refused: plainText(refusalReason(e)) });
      }
    }
    const started = results.some((r) => 'started' in r);
    // None started: 409 when each was refused (locked…), 502 when something failed (Slack, the store…).
    return { status: started ? 202 : failed ? 502 : 409, body: { ok: started, deployments: results } };
  };

  /** Starts the deploys of a delivery whose ids were recorded; forgets them when none started. */
  const startOnce = async (source: TriggerSource, ids: string[], deploys: TriggeredDeploy[]) => {
    const recorded = await firstDelivery(source, ids);
    let answer: Awaited<ReturnType<typeof start>> | undefined;
    try {
      answer = await start(source, deploys);
      return answer;
    } finally {
      if (!answer?.body.ok) await forget(source, recorded);
    }
  };

  const ci = async (req: IncomingMessage, secret: string) => {
    const timestamp = header(req, 'x-dockhand-timestamp') ?? refuseUnsigned('X-Dockhand-Timestamp');
    const signature = header(req, 'x-dockhand-signature') ?? refuseUnsigned('X-Dockhand-Signature');
    const raw = await body(req, CI_BODY_LIMIT);
    const signed = Buffer.concat([Buffer.from(`${timestamp}.`), raw]);
    if (!verifySignature(secret, signed, signature)) {
      throw new HookRefusal(401, 'bad_signature', 'the signature does not match the body and timestamp');
    }
    const ts = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
    if (!Number.isFinite(ts) || Math.abs(now() / 1000 - ts) > skew) {
      throw new HookRefusal(401, 'stale', `the timestamp is more than ${skew / 60} minutes off dockhand’s clock`);
    }
    const deploys = ciDeploys(config, parseCiDelivery(raw.toString('utf8')));
    // A delivery is its signature: the same signed request twice is a replay; a new timestamp is a new delivery.
    return startOnce('ci', [createHash('sha256').update(signature).digest('hex')], deploys);
  };

  const github = async (req: IncomingMessage, secret: string) => {
    const signature = header(req, 'x-hub-signature-256') ?? refuseUnsigned('X-Hub-Signature-256');
    const raw = await body(req, GITHUB_BODY_LIMIT);
    if (!verifySignature(secret, raw, signature)) {
      throw new HookRefusal(401, 'bad_signature', 'the signature does not match the body');
    }
    const event = header(req, 'x-github-event');
    const delivery = header(req, 'x-github-delivery');
    if (event === 'ping') return { status: 200, body: { ok: true, pong: true } };
    if (!delivery || !/^[A-Za-z0-9-]{1,100}$/.test(delivery)) {
      throw new HookRefusal(400, 'malformed', 'X-GitHub-Delivery: expected the delivery id');
    }
    if (event !== 'push') return { status: 202, body: { ok: true, ignored: `event ${event ?? '(none)'}` } };
    const push = parseGithubPush(raw.toString('utf8'));
    if (push.kind === 'ignored') return { status: 202, body: { ok: true, ignored: push.reason } };
    const deploys = githubDeploys(config, push);
    if (deploys.length === 0) {
      const reason = `no environment builds ${push.repository} branch ${push.branch} on a github trigger`;
      return { status: 202, body: { ok: true, ignored: reason } };
    }
    // GitHub signs the body only: a replay with a new delivery id is caught by the body's hash.
    return startOnce('github', [delivery, `body:${createHash('sha256').update(raw).digest('hex')}`], deploys);
  };

  return (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '/').split('?')[0];
    const route = path === CI_PATH ? 'ci' : path === GITHUB_PATH ? 'github' : undefined;
    const secret = route && secrets[route];
    if (!route || !secret) return false;
    if (req.method !== 'POST') {
      req.resume();
      deps.onDelivery?.(route, 'method_not_allowed');
      sendJson(res, 405, { ok: false, error: 'method_not_allowed', reason: 'use POST' });
      return true;
    }
    const count = (outcome: string) => deps.onDelivery?.(route, outcome);
    (route === 'ci' ? ci(req, secret) : github(req, secret))
      .then(({ status, body: answer }) => {
        count('ignored' in answer ? 'ignored' : 'pong' in answer ? 'pong' : status === 202 ? 'started' : 'refused');
        sendJson(res, status, answer);
      })
      .catch((e: unknown) => {
        req.resume(); // a body refused before it was read
        const refusal =
          e instanceof HookRefusal
            ? e
            : e instanceof TriggerRefusal
              ? new HookRefusal(STATUS_OF[e.problem], e.problem, e.denial ? denialText(e.denial) : e.message)
              : undefined;
        count(refusal?.error ?? 'internal');
        if (!refusal) {
          log.error({ err: e, source: route }, 'a deploy hook failed');
          if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'internal', reason: 'see dockhand’s log' });
          return;
        }
        log.warn({ source: route, error: refusal.error, reason: refusal.reason }, 'refused a deploy hook delivery');
        if (!res.headersSent)
          sendJson(res, refusal.status, { ok: false, error: refusal.error, reason: refusal.reason });
      });
    return true;
  };
};

/** Start-up check: every source a trigger names has its secret (names the variable and the environments). */
export const missingHookSecrets = (config: Config, secrets: HookDeps['secrets']): string[] => {
  const variables = { ci: 'DOCKHAND_CI_SECRET', github: 'DOCKHAND_GITHUB_WEBHOOK_SECRET' } as const;
  const problems: string[] = [];
  for (const source of ['ci', 'github'] as const) {
    if (secrets[source]) continue;
    const users = Object.entries(config.services).flatMap(([service, svc]) =>
      Object.entries(svc.environments)
        .filter(([, env]) => env.trigger?.source === source)
        .map(([env]) => `services.${service}.environments.${env}.trigger`),
    );
    if (users.length > 0) {
      problems.push(
        `${variables[source]}: not set: ${users.join(', ')} take${users.length === 1 ? 's' : ''} ${source} deliveries, signed with it`,
      );
    }
  }
  return problems;
};
