/**
 * Registry credentials shared by the engine-side registries (src/adapters/docker/registries.ts) and the HTTP copier
 * (./copier.ts): Bearer challenges answered at the challenge's realm, and ECR login tokens from
 * GetAuthorizationToken, cached until shortly before they expire. Nothing here ever puts a credential in a message.
 */
import type { ECRClient, GetAuthorizationTokenCommandOutput } from '@aws-sdk/client-ecr';
import type { RegistryConfig } from '../../config/schema.ts';
import { AwsError, DockhandError } from '../../errors.ts';
import type { Clock } from '../../ports.ts';
import { ecrSdk } from '../aws/sdk.ts';

/** ECR tokens are renewed this long before they expire. */
export const ECR_TOKEN_MARGIN_MS = 5 * 60_000;

/** `Basic …` for a user and password. */
export const basicAuthorization = (username: string, password: string): string =>
  `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;

/** The parameters of a `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge; undefined if not Bearer. */
export const bearerChallenge = (header: string | null): Map<string, string> | undefined => {
  if (!header || !/^bearer\s/i.test(header)) return undefined;
  const params = new Map<string, string>();
  for (const m of header.matchAll(/(\w+)="([^"]*)"/g)) if (m[1] && m[2] !== undefined) params.set(m[1], m[2]);
  return params;
};

/**
 * Asks a Bearer challenge's realm for a token (with the basic credentials, if any). `scopes` replaces the
 * challenge's own scope (a push and a cross-repository mount need more than the refused request named).
 * Undefined when the realm is missing or refuses.
 */
export const fetchBearerToken = async (
  get: (url: string, authorization: string | undefined) => Promise<Response>,
  challenge: Map<string, string>,
  basic: string | undefined,
  scopes?: readonly string[],
): Promise<{ token: string; expiresInSeconds: number } | undefined> => {
  const realm = challenge.get('realm');
  if (!realm || !/^https?:\/\//i.test(realm)) return undefined;
  const tokenUrl = new URL(realm);
  const service = challenge.get('service');
  if (service) tokenUrl.searchParams.set('service', service);
  const scopeList = scopes ?? (challenge.get('scope') ? [challenge.get('scope') as string] : []);
  for (const scope of scopeList) tokenUrl.searchParams.append('scope', scope);
  const res = await get(tokenUrl.toString(), basic);
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    return undefined;
  }
  const body = (await res.json().catch(() => ({}))) as {
    token?: unknown;
    access_token?: unknown;
    expires_in?: unknown;
  };
  const token = body.token ?? body.access_token;
  if (typeof token !== 'string' || token.length === 0) return undefined;
  const expiresInSeconds = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
  return { token, expiresInSeconds };
};

type EcrConfig = Extract<RegistryConfig, { type: 'ecr' }>;

export interface EcrToken {
  username: string;
  password: string;
  /** The proxy endpoint as ECR returned it, e.g. https://123456789012.dkr.ecr.us-east-1.amazonaws.com */
  serveraddress: string;
  /** host of the proxy endpoint, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com */
  host: string;
  renewAt: number;
}

/** One ECR registry's login token: fetched on first use, shared by concurrent callers, renewed before expiry. */
export class EcrTokens {
  private readonly label: string;
  private readonly config: EcrConfig;
  private readonly deps: { ecr?: ((region?: string) => ECRClient) | undefined; clock: Clock };
  private token: EcrToken | undefined;
  private pending: Promise<EcrToken> | undefined;

  constructor(
    label: string,
    config: EcrConfig,
    deps: { ecr?: ((region?: string) => ECRClient) | undefined; clock: Clock },
  ) {
    this.label = label;
    this.config = config;
    this.deps = deps;
  }

  /** The token, from GetAuthorizationToken, cached until ECR_TOKEN_MARGIN_MS before it expires. */
  get(): Promise<EcrToken> {
    const now = this.deps.clock.now().getTime();
    if (this.token && now < this.token.renewAt) return Promise.resolve(this.token);
    this.pending ??= this.fetch().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Drops a token the registry refused, so the next use fetches a new one. */
  forget(): void {
    this.token = undefined;
  }

  client(): ECRClient {
    if (!this.deps.ecr) throw new DockhandError('config', `${this.label}: no ECR client was configured`);
    return this.deps.ecr(this.config.region);
  }

  private async fetch(): Promise<EcrToken> {
    let out: GetAuthorizationTokenCommandOutput;
    try {
      out = await this.client().send(
        new (ecrSdk().GetAuthorizationTokenCommand)(
          this.config.registryId ? { registryIds: [this.config.registryId] } : {},
        ),
      );
    } catch (e) {
      throw new AwsError('getting an ECR login token', e);
    }
    const data = out.authorizationData?.[0];
    const decoded = data?.authorizationToken ? Buffer.from(data.authorizationToken, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (!data?.proxyEndpoint || colon < 0)
      throw new DockhandError('aws', `${this.label}: GetAuthorizationToken returned no usable token`);
    const host = data.proxyEndpoint.replace(/^https?:\/\//i, '').replace(/\/+$/, '');
    const now = this.deps.clock.now().getTime();
    const expiresAt = data.expiresAt ? data.expiresAt.getTime() : now + 12 * 3_600_000;
    this.token = {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      serveraddress: data.proxyEndpoint,
      host,
      renewAt: expiresAt - ECR_TOKEN_MARGIN_MS,
    };
    return this.token;
  }
}
