/**
 * ImageCopier over the Docker Registry HTTP API v2 (no engine): copies a manifest (or an index and its children)
 * and its blobs byte for byte between two registries of dockhand.yml, so the digest is the same on both sides.
 *
 * - the target already has the manifest → nothing moves (`present`);
 * - a blob the target has is skipped; within one registry a blob is mounted from the source repository
 *   (POST …/blobs/uploads/?mount=&from=; 201 mounted, 202 = an upload to fall back on);
 * - otherwise the blob streams from the source's GET into the target's upload (POST, PATCH, PUT ?digest=), its
 *   sha256 checked while it streams: a blob whose bytes do not match is never committed, and no layer is held in
 *   memory;
 * - manifests go up with their exact bytes and media type, children before their index, and the top one is read
 *   back: the target must serve the requested digest.
 */
import { createHash } from 'node:crypto';
import type { RegistryConfig } from '../../config/schema.ts';
import { DockhandError } from '../../errors.ts';
import type { ImageCopier, ImageCopyRequest, ImageCopyResult, ImageLocation } from '../../ports.ts';
import { IdleDeadline, RegistryHttp, type RegistryHttpDeps } from './http.ts';
import { INDEX_MEDIA_TYPES, MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES } from './media-types.ts';

export type ImageCopierDeps = RegistryHttpDeps;

/** Registries refuse larger manifests (distribution's limit); a larger answer is not one. */
const MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
const CONFIG_MAX_BYTES = 8 * 1024 * 1024;
/** Blobs moved at once: layers of one image download in parallel, as `docker pull` does (3 by default). */
const BLOB_CONCURRENCY = 3;

const REPOSITORY = /^[a-z0-9]+([._/-][a-z0-9]+)*$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  urls?: string[];
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface Manifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
  /** For an index: its children; for an image: its config and layers. */
  children: Descriptor[];
  blobs: Descriptor[];
}

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

const isDescriptor = (value: unknown): value is Descriptor => {
  const d = value as Descriptor;
  return (
    typeof d === 'object' &&
    d !== null &&
    typeof d.digest === 'string' &&
    DIGEST.test(d.digest) &&
    Number.isSafeInteger(d.size) &&
    d.size >= 0
  );
};

/** Foreign (non-distributable) layers live elsewhere: registries neither hold nor need them. */
const isForeign = (d: Descriptor): boolean =>
  (d.urls?.length ?? 0) > 0 && /foreign|nondistributable/i.test(d.mediaType ?? '');

/** Reads at most `max` bytes of a body; undefined when it is larger. */
const readLimited = async (res: Response, max: number): Promise<Uint8Array | undefined> => {
  const reader = res.body?.getReader();
  if (!reader) return new Uint8Array();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    parts.push(value);
  }
  return Buffer.concat(parts);
};

const pullScope = (repository: string): string => `repository:${repository}:pull`;
const pushScope = (repository: string): string => `repository:${repository}:push,pull`;

/** The copy of one request: its registries, scopes and progress. */
interface Copy {
  from: RegistryHttp;
  to: RegistryHttp;
  request: ImageCopyRequest;
  fromScopes: string[];
  toScopes: string[];
  /** Within one registry (same origin): mount instead of moving bytes. */
  mount: boolean;
  copied: number;
  total: number;
  reported: number;
}

export class HttpImageCopier implements ImageCopier {
  private readonly registries: Record<string, RegistryConfig>;
  private readonly deps: ImageCopierDeps;
  private readonly clients = new Map<string, RegistryHttp>();

  constructor(registries: Record<string, RegistryConfig>, deps: ImageCopierDeps) {
    this.registries = registries;
    this.deps = deps;
  }

  async copy(request: ImageCopyRequest): Promise<ImageCopyResult> {
    const { digest, signal } = request;
    checkLocation(request.from, digest);
    checkLocation(request.to, digest);
    const from = this.client(request.from.registry);
    const to = this.client(request.to.registry);
    signal?.throwIfAborted();
    const mount = (await from.origin()) === (await to.origin());
    const fromScopes = [pullScope(request.from.repository)];
    const toScopes =
      mount && request.from.repository !== request.to.repository
        ? [pushScope(request.to.repository), pullScope(request.from.repository)]
        : [pushScope(request.to.repository)];
    const copy: Copy = { from, to, request, fromScopes, toScopes, mount, copied: 0, total: 0, reported: -1 };

    if ((await this.head(to, 'manifests', request.to.repository, digest, toScopes, signal)) === digest)
      return { digest, method: 'present', bytes: 0 };

    // What to put, children before their index, and the blobs the target lacks.
    const top = await this.manifest(from, request.from.repository, digest, fromScopes, signal);
    const manifests: Manifest[] = [];
    for (const child of top.children) {
      if ((await this.head(to, 'manifests', request.to.repository, child.digest, toScopes, signal)) === child.digest)
        continue;
      manifests.push(await this.manifest(from, request.from.repository, child.digest, fromScopes, signal));
    }
    manifests.push(top);
    const wanted = new Map<string, Descriptor>();
    for (const m of manifests) for (const blob of m.blobs) if (!isForeign(blob)) wanted.set(blob.digest, blob);
    const missing: Descriptor[] = [];
    for (const blob of wanted.values())
      if ((await this.head(to, 'blobs', request.to.repository, blob.digest, toScopes, signal)) === undefined)
        missing.push(blob);
    copy.total = missing.reduce((sum, b) => sum + b.size, 0);
    this.progress(copy, true);

    const mounted = await this.moveBlobs(copy, missing);
    for (const m of manifests) await this.putManifest(copy, m);

    const served = await this.head(to, 'manifests', request.to.repository, digest, toScopes, signal);
    if (served !== digest)
      throw new DockhandError(
        'registry',
        `${to.label} serves ${request.to.repository}@${digest} as ${served ?? 'nothing'} after the copy`,
      );
    const method = copy.copied > 0 || mounted === 0 ? 'copy' : 'mount';
    return { digest, method, bytes: copy.copied };
  }

  async labels(location: ImageLocation, digest: string): Promise<Record<string, string>> {
    checkLocation(location, digest);
    const registry = this.client(location.registry);
    const scopes = [pullScope(location.repository)];
    let image = await this.manifest(registry, location.repository, digest, scopes);
    if (image.children.length > 0) {
      const amd64 = image.children.find((c) => c.platform?.os === 'linux' && c.platform.architecture === 'amd64');
      const child = amd64 ?? image.children[0];
      if (!child) return {};
      image = await this.manifest(registry, location.repository, child.digest, scopes);
    }
    const config = image.blobs[0];
    if (!config) return {};
    const what = `read the image config ${config.digest} of ${location.repository}`;
    const res = await registry.call(`/v2/${location.repository}/blobs/${config.digest}`, { scopes });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw registry.failure(res, what);
    }
    const bytes = await readLimited(res, CONFIG_MAX_BYTES);
    if (!bytes || sha256(bytes) !== config.digest)
      throw new DockhandError(
        'registry',
        `${registry.label} sent an image config that does not match ${config.digest}`,
      );
    let parsed: { config?: { Labels?: unknown } };
    try {
      parsed = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof parsed;
    } catch {
      throw new DockhandError('registry', `${registry.label}: the image config ${config.digest} is not JSON`);
    }
    const labels = parsed.config?.Labels;
    const out: Record<string, string> = {};
    if (labels && typeof labels === 'object')
      for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') out[key] = value;
    return out;
  }

  private client(name: string): RegistryHttp {
    let client = this.clients.get(name);
    if (!client) {
      const config = this.registries[name];
      if (!config)
        throw new DockhandError(
          'config',
          `unknown registry "${name}" (defined: ${Object.keys(this.registries).join(', ') || 'none'})`,
        );
      client = new RegistryHttp(name, config, this.deps);
      this.clients.set(name, client);
    }
    return client;
  }

  /**
   * HEAD of a manifest or blob by digest: the digest the registry serves for it (its Docker-Content-Digest, else the
   * one asked for), undefined when it has none.
   */
  private async head(
    registry: RegistryHttp,
    kind: 'manifests' | 'blobs',
    repository: string,
    digest: string,
    scopes: readonly string[],
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const res = await registry.call(`/v2/${repository}/${kind}/${digest}`, {
      method: 'HEAD',
      headers: kind === 'manifests' ? { Accept: MANIFEST_ACCEPT } : {},
      scopes,
      signal,
    });
    await res.body?.cancel().catch(() => {});
    if (res.status === 404) return undefined;
    if (res.status !== 200)
      throw registry.failure(res, `look up ${kind === 'blobs' ? 'the blob ' : ''}${repository}@${digest}`);
    return res.headers.get('docker-content-digest') ?? digest;
  }

  /** GET of a manifest by digest, its bytes checked against the digest. */
  private async manifest(
    registry: RegistryHttp,
    repository: string,
    digest: string,
    scopes: readonly string[],
    signal?: AbortSignal,
  ): Promise<Manifest> {
    const res = await registry.call(`/v2/${repository}/manifests/${digest}`, {
      headers: { Accept: MANIFEST_ACCEPT },
      scopes,
      signal,
    });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      if (res.status === 404)
        throw new DockhandError('registry', `${registry.label} has no image ${digest} in ${repository}`);
      throw registry.failure(res, `read ${repository}@${digest}`);
    }
    const bytes = await readLimited(res, MANIFEST_MAX_BYTES);
    if (!bytes || sha256(bytes) !== digest)
      throw new DockhandError(
        'registry',
        `${registry.label} sent a manifest for ${repository}@${digest} whose bytes do not match that digest`,
      );
    let json: { schemaVersion?: unknown; mediaType?: unknown; manifests?: unknown; config?: unknown; layers?: unknown };
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8')) as typeof json;
    } catch {
      throw new DockhandError('registry', `${registry.label}: ${repository}@${digest} is not a JSON manifest`);
    }
    const header = res.headers.get('content-type')?.split(';')[0]?.trim();
    const mediaType =
      header && MANIFEST_MEDIA_TYPES.includes(header)
        ? header
        : typeof json.mediaType === 'string'
          ? json.mediaType
          : undefined;
    const unsupported = () =>
      new DockhandError(
        'registry',
        `${registry.label}: ${repository}@${digest} is a ${mediaType ?? 'manifest'} dockhand cannot copy`,
        { hint: 'Only Docker schema 2 and OCI images and indexes can be copied.' },
      );
    if (json.schemaVersion !== 2 || !mediaType) throw unsupported();
    const list = (value: unknown): Descriptor[] => {
      if (!Array.isArray(value) || !value.every(isDescriptor)) throw unsupported();
      return value;
    };
    if (INDEX_MEDIA_TYPES.includes(mediaType) || Array.isArray(json.manifests))
      return { digest, mediaType, bytes, children: list(json.manifests), blobs: [] };
    if (!isDescriptor(json.config)) throw unsupported();
    return { digest, mediaType, bytes, children: [], blobs: [json.config, ...list(json.layers ?? [])] };
  }

  /**
   * Moves the blobs the target lacks, BLOB_CONCURRENCY at a time, largest first; the first failure stops the others
   * (their uploads are deleted) and is the one thrown. Answers how many were mounted.
   */
  private async moveBlobs(copy: Copy, blobs: readonly Descriptor[]): Promise<number> {
    const stop = new AbortController();
    const signal = copy.request.signal ? AbortSignal.any([copy.request.signal, stop.signal]) : stop.signal;
    const queue = [...blobs].sort((a, b) => b.size - a.size);
    let mounted = 0;
    let failure: { error: unknown } | undefined;
    const worker = async (): Promise<void> => {
      for (let blob = queue.shift(); blob && !failure; blob = queue.shift()) {
        try {
          if (await this.moveBlob(copy, blob, signal)) mounted++;
        } catch (e) {
          failure ??= { error: e };
          stop.abort();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(BLOB_CONCURRENCY, queue.length) }, worker));
    if (failure) throw failure.error;
    return mounted;
  }

  /** Puts one blob the target lacks; true when it was mounted (no bytes moved). */
  private async moveBlob(copy: Copy, blob: Descriptor, signal: AbortSignal): Promise<boolean> {
    const { to, request, toScopes } = copy;
    const uploads = `/v2/${request.to.repository}/blobs/uploads/`;
    const query = copy.mount
      ? `?mount=${encodeURIComponent(blob.digest)}&from=${encodeURIComponent(request.from.repository)}`
      : '';
    const started = await to.call(`${uploads}${query}`, {
      method: 'POST',
      headers: { 'Content-Length': '0' },
      scopes: toScopes,
      signal,
    });
    await started.body?.cancel().catch(() => {});
    if (copy.mount && started.status === 201) return true;
    const location = started.headers.get('location');
    if (started.status === 404)
      throw new DockhandError('registry', `${to.label} has no repository ${request.to.repository}`, {
        hint: 'Create the repository in the registry first.',
      });
    if (started.status !== 202 || !location)
      throw to.failure(started, `start an upload of ${blob.digest} to ${request.to.repository}`);
    const upload = new URL(location, `${await to.origin()}${uploads}`).toString();
    try {
      await this.streamBlob(copy, blob, upload, signal);
    } catch (e) {
      await to
        .call(upload, { method: 'DELETE', scopes: toScopes })
        .then((r) => r.body?.cancel())
        .catch(() => {});
      throw e;
    }
    return false;
  }

  /** GET from the source into the target's upload, the sha256 checked on the way; commits with PUT ?digest=. */
  private async streamBlob(copy: Copy, blob: Descriptor, upload: string, signal: AbortSignal): Promise<void> {
    const { from, to, request, fromScopes, toScopes } = copy;
    const idle = new IdleDeadline(from.timeoutMs);
    try {
      const source = await from.call(`/v2/${request.from.repository}/blobs/${blob.digest}`, {
        scopes: fromScopes,
        signal,
        idle,
      });
      if (source.status !== 200 || !source.body) {
        await source.body?.cancel().catch(() => {});
        throw from.failure(source, `read the blob ${blob.digest} of ${request.from.repository}`);
      }
      const hash = createHash('sha256');
      let size = 0;
      let mismatch: DockhandError | undefined;
      const verify = new TransformStream<Uint8Array, Uint8Array>({
        transform: (chunk, controller) => {
          idle.touch();
          hash.update(chunk);
          size += chunk.length;
          copy.copied += chunk.length;
          this.progress(copy, false);
          if (size > blob.size) {
            mismatch = this.mismatch(copy, blob, `more than its ${blob.size} bytes`);
            controller.error(mismatch);
            return;
          }
          controller.enqueue(chunk);
        },
        flush: (controller) => {
          const got = `sha256:${hash.digest('hex')}`;
          if (size !== blob.size || got !== blob.digest) {
            mismatch = this.mismatch(copy, blob, size !== blob.size ? `${size} of ${blob.size} bytes` : got);
            controller.error(mismatch);
          }
        },
      });
      await to.authorize(toScopes, signal);
      let patched: Response;
      try {
        patched = await to.call(upload, {
          method: 'PATCH',
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Length': String(blob.size),
            ...(blob.size > 0 ? { 'Content-Range': `0-${blob.size - 1}` } : {}),
          },
          stream: source.body.pipeThrough(verify),
          scopes: toScopes,
          signal,
          idle,
        });
      } catch (e) {
        if (mismatch) throw mismatch;
        throw e;
      }
      await patched.body?.cancel().catch(() => {});
      if (mismatch) throw mismatch;
      // The spec answers 202 with the next Location; ECR answers 201 (and its Location may be the same one).
      if (patched.status !== 202 && patched.status !== 201)
        throw to.failure(patched, `upload ${blob.digest} to ${request.to.repository}`);
      const commit = new URL(patched.headers.get('location') ?? upload, upload);
      commit.searchParams.set('digest', blob.digest);
      const put = await to.call(commit.toString(), {
        method: 'PUT',
        headers: { 'Content-Length': '0' },
        scopes: toScopes,
        signal,
      });
      await put.body?.cancel().catch(() => {});
      if (put.status !== 201 && put.status !== 202)
        throw to.failure(put, `commit ${blob.digest} to ${request.to.repository}`);
    } catch (e) {
      if (idle.signal.aborted && !signal.aborted)
        throw new DockhandError(
          'registry',
          `copying the blob ${blob.digest} from ${from.label} to ${to.label} stalled: no bytes for ${from.timeoutMs} ms`,
          { cause: e },
        );
      throw e;
    } finally {
      idle.stop();
    }
  }

  private mismatch(copy: Copy, blob: Descriptor, got: string): DockhandError {
    return new DockhandError(
      'registry',
      `${copy.from.label} sent the blob ${blob.digest} of ${copy.request.from.repository} with other bytes (${got}); nothing was committed to ${copy.request.to.repository}`,
    );
  }

  private async putManifest(copy: Copy, manifest: Manifest): Promise<void> {
    const { to, request, toScopes } = copy;
    const res = await to.call(`/v2/${request.to.repository}/manifests/${manifest.digest}`, {
      method: 'PUT',
      headers: { 'Content-Type': manifest.mediaType },
      body: manifest.bytes,
      scopes: toScopes,
      signal: request.signal,
    });
    const detail = res.status === 201 ? '' : await res.text().catch(() => '');
    if (res.status !== 201)
      throw to.failure(res, `put ${request.to.repository}@${manifest.digest}`, detail.slice(0, 300));
    const stored = res.headers.get('docker-content-digest');
    if (stored && stored !== manifest.digest)
      throw new DockhandError(
        'registry',
        `${to.label} stored ${request.to.repository}@${manifest.digest} as ${stored}: the registry rewrote the manifest`,
      );
  }

  /** Reports progress when the whole percent moves (and once at the start), so a listener is not flooded. */
  private progress(copy: Copy, force: boolean): void {
    const percent = copy.total > 0 ? Math.floor((100 * copy.copied) / copy.total) : 100;
    if (!force && percent <= copy.reported) return;
    copy.reported = percent;
    try {
      copy.request.onProgress?.(copy.copied, copy.total);
    } catch {
      // a listener's failure must not break the copy
    }
  }
}

const checkLocation = (location: ImageLocation, digest: string): void => {
  if (!DIGEST.test(digest)) throw new DockhandError('invalid', `“${digest}” is not an image digest (sha256:…)`);
  if (!REPOSITORY.test(location.repository))
    throw new DockhandError('invalid', `“${location.repository}” is not a repository name`);
};
