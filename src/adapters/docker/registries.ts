/**
 * ImageRegistry for the registries of dockhand.yml (DESIGN.md §2.3): a plain Docker registry (`type: registry`)
 * or Amazon ECR (`type: ecr`). Pushes go through the Docker engine (dockerode) with the registry's credentials;
 * tag look-ups go to the registry itself (HTTP API v2) or to ECR's DescribeImages.
 *
 * The engine reports a failed push inside a 200 response (`errorDetail` lines) — dockerode does not fail on them —
 * so a push counts as done only when no error line came AND the engine reported the manifest digest.
 * Credentials never appear in messages: errors name the registry's address and status only.
 */
import type { ECRClient } from '@aws-sdk/client-ecr';
import type Docker from 'dockerode';
import type { RegistryConfig } from '../../config/schema.ts';
import type { ScanReading } from '../../domain/scan.ts';
import { AwsError, DockhandError, errorMessage, errorName } from '../../errors.ts';
import { maskSecrets } from '../../logger.ts';
import type { Clock, ImageRegistry, PushRequest, RegistryAuth } from '../../ports.ts';
import { readScanFindings } from '../aws/scan-findings.ts';
import { ecrSdk } from '../aws/sdk.ts';
import { basicAuthorization, bearerChallenge, EcrTokens, fetchBearerToken } from '../registry/auth.ts';
import { MANIFEST_ACCEPT } from '../registry/media-types.ts';
import {
  type EngineEvent,
  engineErrorMessage,
  eventError,
  isConnectionError,
  readEngineStream,
  splitImageRef,
} from './json-stream.ts';

export interface RegistryDeps {
  docker: Docker;
  /** The ECR client of a region (undefined = the default region); required for `type: ecr`. */
  ecr?: (region?: string) => ECRClient;
  clock: Clock;
  /** For registry HTTP calls (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Milliseconds one registry HTTP call may take (default 30 s). */
  httpTimeoutMs?: number;
}

export { ECR_TOKEN_MARGIN_MS } from '../registry/auth.ts';
export { MANIFEST_ACCEPT } from '../registry/media-types.ts';

const REPOSITORY = /^[a-z0-9]+([._/-][a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** A manifest digest, which resolveTag accepts in place of a tag (a CI trigger names the image it pushed). */
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const DIGEST_STATUS = /digest: (sha256:[0-9a-f]{64}) size:/;

interface Credentials {
  username: string;
  password: string;
  /** host[:port] the credentials are for. */
  serveraddress: string;
}

export const createImageRegistry = (name: string, config: RegistryConfig, deps: RegistryDeps): ImageRegistry => {
  if (config.type === 'ecr') return new EcrRegistry(name, config, deps);
  return new PlainRegistry(name, config, deps);
};

// ---------------------------------------------------------------------------------------------------------------
// Pushing through the engine (both kinds)

/**
 * Tracks a push stream: per-layer progress → percent (bytes summed over layers; a layer whose size is not known
 * yet weighs as much as the average known one; "Pushed", "Layer already exists" and "Mounted from" count as done).
 */
export class PushProgress {
  private readonly layers = new Map<string, { current: number; total: number | undefined; done: boolean }>();
  private reported = -1;
  private readonly onProgress: ((percent: number) => void) | undefined;
  digest: string | undefined;
  error: string | undefined;

  constructor(onProgress?: (percent: number) => void) {
    this.onProgress = onProgress;
  }

  handle(event: EngineEvent): void {
    const error = eventError(event);
    if (error !== undefined) {
      this.error ??= error;
      return;
    }
    if (event.aux?.Digest) this.digest = event.aux.Digest;
    const status = event.status ?? '';
    const fromStatus = DIGEST_STATUS.exec(status);
    if (fromStatus?.[1] && !this.digest) this.digest = fromStatus[1];
    if (event.id && !event.aux && !fromStatus) {
      const layer = this.layers.get(event.id) ?? { current: 0, total: undefined, done: false };
      const detail = event.progressDetail;
      if (/^(Pushed|Layer already exists|Mounted from)/.test(status)) layer.done = true;
      else if (status === 'Pushing' && detail && typeof detail.total === 'number' && detail.total > 0) {
        layer.total = detail.total;
        layer.current = Math.min(detail.current ?? 0, detail.total);
      }
      this.layers.set(event.id, layer);
      this.report(Math.min(99, this.percent()));
    }
    if (this.digest && this.error === undefined) this.report(100);
  }

  percent(): number {
    if (this.layers.size === 0) return 0;
    const known = [...this.layers.values()].filter((l) => l.total !== undefined);
    const average = known.length > 0 ? known.reduce((s, l) => s + (l.total ?? 0), 0) / known.length : 1;
    let done = 0;
    let total = 0;
    for (const layer of this.layers.values()) {
      const size = layer.total ?? average;
      total += size;
      done += layer.done ? size : layer.total !== undefined ? layer.current : 0;
    }
    return total > 0 ? Math.floor((100 * done) / total) : 0;
  }

  private report(percent: number): void {
    if (percent <= this.reported) return;
    this.reported = percent;
    try {
      this.onProgress?.(percent);
    } catch {
      // a listener's failure must not break the push
    }
  }
}

const pushHint = (message: string, address: string): string | undefined => {
  if (/unauthorized|denied|authentication required|no basic auth credentials|token has expired/i.test(message))
    return `Check the credentials configured for ${address}.`;
  if (/name unknown|repository .* does not exist|NAME_UNKNOWN/i.test(message))
    return 'Create the repository in the registry first.';
  if (/connection refused|no such host|i\/o timeout|dial tcp|server gave HTTP response to HTTPS client/i.test(message))
    return `Is the registry at ${address} running and reachable from the Docker engine (and marked insecure there if it speaks plain HTTP)?`;
  return undefined;
};

const pushThroughEngine = async (
  docker: Docker,
  registryLabel: string,
  address: string,
  request: PushRequest,
  credentials: Credentials | undefined,
): Promise<{ digest: string }> => {
  const { signal } = request;
  signal?.throwIfAborted();
  const { name, tag } = splitImageRef(request.image);
  if (!tag) throw new DockhandError('invalid', `cannot push ${request.image}: it has no tag`);
  const authconfig = credentials ?? { serveraddress: address };
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker
      .getImage(name)
      .push({ tag, authconfig, ...(signal ? { abortSignal: signal } : {}) })) as NodeJS.ReadableStream;
  } catch (e) {
    signal?.throwIfAborted();
    const message = maskSecrets(engineErrorMessage(e));
    if (isConnectionError(e))
      throw new DockhandError('docker', `cannot reach the Docker engine: ${message}`, {
        cause: e,
        hint: 'Check DOCKER_HOST and that the engine is running.',
      });
    throw new DockhandError('registry', `pushing ${request.image} to ${registryLabel} failed: ${message}`, {
      cause: e,
    });
  }
  const progress = new PushProgress(request.onProgress);
  await readEngineStream(stream, (event) => progress.handle(event), signal);
  if (progress.error !== undefined) {
    const message = maskSecrets(progress.error);
    const hint = pushHint(message, address);
    throw new DockhandError('registry', `pushing ${request.image} to ${registryLabel} failed: ${message}`, {
      ...(hint ? { hint } : {}),
    });
  }
  if (!progress.digest)
    throw new DockhandError('registry', `pushing ${request.image} to ${registryLabel}: push ended without a digest`);
  return { digest: progress.digest };
};

const checkRepository = (repository: string, tag?: string): void => {
  if (!REPOSITORY.test(repository)) throw new DockhandError('invalid', `“${repository}” is not a repository name`);
  if (tag !== undefined && !TAG.test(tag) && !DIGEST.test(tag))
    throw new DockhandError('invalid', `“${tag}” is not an image tag`);
};

// ---------------------------------------------------------------------------------------------------------------
// type: registry

type PlainConfig = Extract<RegistryConfig, { type: 'registry' }>;

class PlainRegistry implements ImageRegistry {
  private readonly label: string;
  private readonly config: PlainConfig;
  private readonly deps: RegistryDeps;

  constructor(name: string, config: PlainConfig, deps: RegistryDeps) {
    this.label = `registry "${name}" (${config.address})`;
    this.config = config;
    this.deps = deps;
  }

  async imageName(repository: string): Promise<string> {
    return `${this.config.address}/${repository}`;
  }

  push(request: PushRequest): Promise<{ digest: string }> {
    const { address, username, password } = this.config;
    const credentials = username ? { username, password: password ?? '', serveraddress: address } : undefined;
    return pushThroughEngine(this.deps.docker, this.label, address, request, credentials);
  }

  /** Pull credentials for a Docker host: the configured user and password, or undefined (anonymous). */
  async auth(): Promise<RegistryAuth | undefined> {
    const { address, username, password } = this.config;
    return username ? { username, password: password ?? '', serveraddress: address } : undefined;
  }

  /**
   * GET /v2/<repo>/manifests/<tag> with basic auth when configured; a Bearer challenge (Docker Hub, GHCR, Harbor…)
   * is answered once by asking the challenge's realm for a pull token (with the same basic credentials, if any).
   */
  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    checkRepository(repository, tag);
    const { address, insecure, username, password } = this.config;
    const url = `${insecure ? 'http' : 'https'}://${address}/v2/${repository}/manifests/${encodeURIComponent(tag)}`;
    const basic = username ? basicAuthorization(username, password ?? '') : undefined;
    let res = await this.get(url, basic);
    if (res.status === 401) {
      const challenge = res.headers.get('www-authenticate') ?? '';
      const token = await this.bearerToken(challenge, basic);
      if (token) {
        await res.body?.cancel();
        res = await this.get(url, `Bearer ${token}`);
      }
    }
    await res.body?.cancel().catch(() => {});
    if (res.status === 404) return undefined;
    if (res.status === 200) {
      const digest = res.headers.get('docker-content-digest');
      if (!digest)
        throw new DockhandError(
          'registry',
          `${this.label} answered ${repository}:${tag} without a Docker-Content-Digest`,
        );
      return digest;
    }
    throw this.lookupError(res.status, `${repository}:${tag}`);
  }

  /** A refused look-up says whose credentials were refused (or that none were configured), never which ones. */
  private lookupError(status: number, image: string): DockhandError {
    const { address, username } = this.config;
    if (status === 401 && !username)
      return new DockhandError('registry', `${this.label} needs credentials (HTTP 401) to look up ${image}`, {
        hint: `Set username and password for ${address} under registries in dockhand.yml.`,
      });
    if (status === 401 || status === 403)
      return new DockhandError(
        'registry',
        status === 401
          ? `${this.label} refused the configured credentials (HTTP 401) looking up ${image}`
          : `${this.label} denied the configured user access (HTTP 403) to ${image}`,
        { hint: `Check the credentials configured for ${address}.` },
      );
    return new DockhandError('registry', `${this.label} answered HTTP ${status} for ${image}`);
  }

  private async get(url: string, authorization: string | undefined): Promise<Response> {
    const doFetch = this.deps.fetch ?? fetch;
    try {
      return await doFetch(url, {
        headers: { Accept: MANIFEST_ACCEPT, ...(authorization ? { Authorization: authorization } : {}) },
        signal: AbortSignal.timeout(this.deps.httpTimeoutMs ?? 30_000),
        redirect: 'follow',
      });
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
      throw new DockhandError('registry', `cannot reach ${this.label}: ${errorMessage(e)}${maskSecrets(cause)}`, {
        cause: e,
        hint: this.config.insecure ? undefined : 'If the registry speaks plain HTTP, set insecure: true for it.',
      });
    }
  }

  private async bearerToken(challenge: string, basic: string | undefined): Promise<string | undefined> {
    const params = bearerChallenge(challenge);
    return params ? (await fetchBearerToken((url, auth) => this.get(url, auth), params, basic))?.token : undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// type: ecr

type EcrConfig = Extract<RegistryConfig, { type: 'ecr' }>;

class EcrRegistry implements ImageRegistry {
  private readonly label: string;
  private readonly config: EcrConfig;
  private readonly deps: RegistryDeps;
  private readonly tokens: EcrTokens;
  private host: string | undefined;

  constructor(name: string, config: EcrConfig, deps: RegistryDeps) {
    this.label = `ECR registry "${name}"`;
    this.config = config;
    this.deps = deps;
    this.tokens = new EcrTokens(this.label, config, deps);
  }

  async imageName(repository: string): Promise<string> {
    this.host ??= (await this.tokens.get()).host;
    return `${this.host}/${repository}`;
  }

  async push(request: PushRequest): Promise<{ digest: string }> {
    const token = await this.tokens.get();
    const { username, password, serveraddress } = token;
    try {
      return await pushThroughEngine(this.deps.docker, this.label, token.host, request, {
        username,
        password,
        serveraddress,
      });
    } catch (e) {
      if (!(e instanceof DockhandError) || !/unauthorized|denied|expired/i.test(e.message)) throw e;
      // A token the registry refused is not reused. There are no credentials to check in dockhand.yml: ECR refuses
      // a push for the IAM permissions of the role that fetched the token.
      this.tokens.forget();
      const name = splitImageRef(request.image).name;
      const repository = name.startsWith(`${token.host}/`) ? name.slice(token.host.length + 1) : name;
      throw new DockhandError(e.code, e.message, {
        cause: e,
        hint:
          `dockhand's AWS role needs ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, ` +
          `ecr:CompleteLayerUpload and ecr:PutImage on ${repository}; the next try fetches a new login token.`,
      });
    }
  }

  /** Pull credentials for a Docker host: the current ECR login token (renewed before it expires). */
  async auth(): Promise<RegistryAuth | undefined> {
    const { username, password, serveraddress } = await this.tokens.get();
    return { username, password, serveraddress };
  }

  async resolveTag(repository: string, tag: string): Promise<string | undefined> {
    checkRepository(repository, tag);
    try {
      const out = await this.tokens.client().send(
        new (ecrSdk().DescribeImagesCommand)({
          repositoryName: repository,
          imageIds: [DIGEST.test(tag) ? { imageDigest: tag } : { imageTag: tag }],
          ...(this.config.registryId ? { registryId: this.config.registryId } : {}),
        }),
      );
      return out.imageDetails?.[0]?.imageDigest;
    } catch (e) {
      if (errorName(e) === 'ImageNotFoundException') return undefined;
      throw new AwsError(
        `looking up ${repository}:${tag} in ECR`,
        e,
        errorName(e) === 'RepositoryNotFoundException'
          ? `Create the ECR repository ${repository}, or fix image.repository in dockhand.yml.`
          : undefined,
      );
    }
  }

  /** ECR's scan of an image (DescribeImageScanFindings, src/adapters/aws/scan-findings.ts). */
  scanFindings(repository: string, digest: string): Promise<ScanReading> {
    return readScanFindings(this.tokens.client(), repository, digest, this.config.registryId);
  }
}
