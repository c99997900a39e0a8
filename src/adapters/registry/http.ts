/**
 * One registry of dockhand.yml spoken to over the Docker Registry HTTP API v2, with its credentials: basic auth
 * (plain registries with a user), a Bearer token asked at the challenge's realm for the scopes a call needs (cached
 * per scope until shortly before it expires), or ECR's login token as basic auth. Every call has a deadline; a
 * streamed body's deadline is an idle one (no byte for `timeoutMs`), so a large layer is never cut short while it
 * moves. Messages name the registry and the repository, never a credential.
 */
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { RegistryConfig } from '../../config/schema.ts';
import { DockhandError, errorMessage } from '../../errors.ts';
import { maskSecrets } from '../../logger.ts';
import type { Clock } from '../../ports.ts';
import { basicAuthorization, bearerChallenge, EcrTokens, fetchBearerToken } from './auth.ts';

export interface RegistryHttpDeps {
  /** The ECR client of a region (undefined = the default region); required for `type: ecr`. */
  ecr?: ((region?: string) => ECRClient) | undefined;
  clock: Clock;
  /** For registry HTTP calls (default globalThis.fetch). */
  fetch?: typeof fetch | undefined;
  /** Milliseconds one registry HTTP call may take, and a blob stream may stay idle (default 30 s). */
  httpTimeoutMs?: number | undefined;
}

export interface CallOptions {
  method?: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  /** A body that can be sent again (a manifest, nothing); a stream is `stream`. */
  body?: Uint8Array | undefined;
  /** A body read once: the call is not retried after a 401, so its token must be known (ask `authorize` first). */
  stream?: ReadableStream<Uint8Array> | undefined;
  /** Repository scopes the Bearer token must cover, e.g. `repository:a/b:pull`. */
  scopes: readonly string[];
  signal?: AbortSignal | undefined;
  /** The deadline runs while the body streams in or out: keep it alive with `touch` from the stream. */
  idle?: IdleDeadline | undefined;
}

/** A deadline that fires `ms` after the last `touch`. */
export class IdleDeadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly ms: number;
  readonly signal: AbortSignal;

  constructor(ms: number) {
    this.ms = ms;
    this.signal = this.controller.signal;
    this.touch();
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => this.controller.abort(new DOMException(`no progress for ${this.ms} ms`, 'TimeoutError')),
      this.ms,
    );
    this.timer.unref?.();
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}

const TOKEN_MARGIN_MS = 10_000;

export class RegistryHttp {
  /** `registry "name" (address)` or `ECR registry "name"`, for messages. */
  readonly label: string;
  private readonly config: RegistryConfig;
  private readonly deps: RegistryHttpDeps;
  private readonly ecrTokens: EcrTokens | undefined;
  private readonly bearer = new Map<string, { token: string; until: number }>();
  /** The Bearer challenge of the registry, once it sent one. */
  private challenge: Map<string, string> | undefined;

  constructor(name: string, config: RegistryConfig, deps: RegistryHttpDeps) {
    this.config = config;
    this.deps = deps;
    if (config.type === 'ecr') {
      this.label = `ECR registry "${name}"`;
      this.ecrTokens = new EcrTokens(this.label, config, deps);
    } else {
      this.label = `registry "${name}" (${config.address})`;
    }
  }

  get timeoutMs(): number {
    return this.deps.httpTimeoutMs ?? 30_000;
  }

  /** `scheme://host[:port]`: the configured address, or ECR's proxy endpoint. */
  async origin(): Promise<string> {
    if (this.ecrTokens) return (await this.ecrTokens.get()).serveraddress.replace(/\/+$/, '');
    const config = this.config as Extract<RegistryConfig, { type: 'registry' }>;
    return `${config.insecure ? 'http' : 'https'}://${config.address}`;
  }

  /** Makes sure a token for `scopes` is at hand, so a streamed call after this needs no second try. */
  async authorize(scopes: readonly string[], signal?: AbortSignal): Promise<void> {
    if (this.challenge && !this.cachedBearer(scopes)) await this.newBearer(scopes, signal);
  }

  /** One call; `path` is `/v2/…` or an absolute URL (an upload's Location). Answers with any status. */
  async call(path: string, options: CallOptions): Promise<Response> {
    const url = /^https?:\/\//i.test(path) ? path : `${await this.origin()}${path}`;
    let res = await this.send(url, options, await this.authorization(options.scopes));
    if (res.status !== 401 || options.stream) return res;
    const challenge = bearerChallenge(res.headers.get('www-authenticate'));
    const refusedBearer = this.cachedBearer(options.scopes) !== undefined;
    if (!challenge) {
      // a refused ECR token is not reused: the next call fetches a new one
      this.ecrTokens?.forget();
      return res;
    }
    this.challenge = challenge;
    if (refusedBearer) this.bearer.delete(options.scopes.join(' '));
    const token = await this.newBearer(options.scopes, options.signal);
    if (!token) return res;
    await res.body?.cancel().catch(() => {});
    res = await this.send(url, options, `Bearer ${token}`);
    return res;
  }

  /** A refused or failed answer as an error naming the registry, what was asked and the status. */
  failure(res: Response, what: string, detail?: string): DockhandError {
    const { status } = res;
    const config = this.config;
    if (status === 401 && config.type === 'registry' && !config.username)
      return new DockhandError('registry', `${this.label} needs credentials (HTTP 401) to ${what}`, {
        hint: `Set username and password for ${config.address} under registries in dockhand.yml.`,
      });
    const refused = status === 401 || status === 403;
    if (refused && config.type === 'ecr')
      return new DockhandError(
        'registry',
        status === 401
          ? `${this.label} refused dockhand's ECR login token (HTTP 401) to ${what}`
          : `${this.label} denied dockhand's AWS role access (HTTP 403) to ${what}`,
        {
          hint: "Check the ECR permissions of dockhand's AWS role on the repository; the next try fetches a new login token.",
        },
      );
    if (refused && config.type === 'registry')
      return new DockhandError(
        'registry',
        status === 401
          ? `${this.label} refused the configured credentials (HTTP 401) to ${what}`
          : `${this.label} denied the configured user access (HTTP 403) to ${what}`,
        { hint: `Check the credentials configured for ${config.address}.` },
      );
    return new DockhandError(
      'registry',
      `${this.label} answered HTTP ${status} to ${what}${detail ? `: ${maskSecrets(detail)}` : ''}`,
    );
  }

  private cachedBearer(scopes: readonly string[]): string | undefined {
    const cached = this.bearer.get(scopes.join(' '));
    return cached && this.deps.clock.now().getTime() < cached.until ? cached.token : undefined;
  }

  private async newBearer(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    if (!this.challenge) return undefined;
    const got = await fetchBearerToken(
      (url, authorization) => this.send(url, { scopes, signal }, authorization),
      this.challenge,
      await this.basic(),
      scopes,
    );
    if (!got) return undefined;
    const until = this.deps.clock.now().getTime() + Math.max(got.expiresInSeconds * 1000 - TOKEN_MARGIN_MS, 1000);
    this.bearer.set(scopes.join(' '), { token: got.token, until });
    return got.token;
  }

  private async basic(): Promise<string | undefined> {
    if (this.ecrTokens) {
      const { username, password } = await this.ecrTokens.get();
      return basicAuthorization(username, password);
    }
    const config = this.config as Extract<RegistryConfig, { type: 'registry' }>;
    return config.username ? basicAuthorization(config.username, config.password ?? '') : undefined;
  }

  private async authorization(scopes: readonly string[]): Promise<string | undefined> {
    const bearer = this.cachedBearer(scopes);
    return bearer ? `Bearer ${bearer}` : await this.basic();
  }

  private async send(url: string, options: CallOptions, authorization: string | undefined): Promise<Response> {
    const doFetch = this.deps.fetch ?? fetch;
    const deadline = options.idle ? options.idle.signal : AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const body = options.stream ?? options.body;
    try {
      return await doFetch(url, {
        method: options.method ?? 'GET',
        headers: { ...options.headers, ...(authorization ? { Authorization: authorization } : {}) },
        signal,
        // A streamed body goes with redirect 'error': with 'follow' Node's fetch tees the body to be able to
        // replay it after a redirect and keeps every chunk until the end (nodejs/undici#4058), the whole layer.
        redirect: options.stream ? 'error' : 'follow',
        ...(body ? { body, duplex: 'half' } : {}),
      } as RequestInit);
    } catch (e) {
      options.signal?.throwIfAborted();
      const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
      const insecureHint =
        this.config.type === 'registry' && !this.config.insecure
          ? 'If the registry speaks plain HTTP, set insecure: true for it.'
          : undefined;
      throw new DockhandError('registry', `cannot reach ${this.label}: ${maskSecrets(errorMessage(e) + cause)}`, {
        cause: e,
        hint: insecureHint,
      });
    }
  }
}
