// A Docker Registry HTTP API v2 in memory on 127.0.0.1, for what a real registry does not do on demand: serve a
// blob whose bytes do not match its digest, stall in the middle of a blob, ask for Bearer tokens (with the scopes
// recorded). Speaks the parts of the protocol the image copier uses: manifests (HEAD, GET, PUT), blobs (HEAD, GET),
// uploads (POST with and without mount, PATCH, PUT ?digest=, DELETE) and a token endpoint.

import { createHash, type Hash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRegistryOptions {
  /** Require Bearer tokens from /token, handed out for these basic credentials. */
  bearer?: { username: string; password: string };
  /** Answer an upload's PATCH as ECR does: 201 and no Location (the spec says 202 with the next Location). */
  ecrPatch?: boolean;
  /** Keep only the digest and size of uploaded blobs, not their bytes (to measure the client's memory). */
  hashOnly?: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: URLSearchParams;
}

const digestOf = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export class FakeRegistry {
  readonly blobs = new Map<string, Buffer>();
  /** repository → digest → manifest */
  readonly manifests = new Map<string, Map<string, { bytes: Buffer; mediaType: string }>>();
  /** repository → digests of blobs linked to it */
  readonly links = new Map<string, Set<string>>();
  readonly requests: RequestRecord[] = [];
  /** Scopes asked at /token, one list per token. */
  readonly tokenScopes: string[][] = [];
  /** Blobs served with one byte changed (same length). */
  readonly corrupt = new Set<string>();
  /** Blobs served up to this many bytes, then the response stalls until the client goes away. */
  readonly stallAfter = new Map<string, number>();
  /** Manifests served with other bytes than their digest's. */
  readonly corruptManifests = new Set<string>();
  readonly deletedUploads: string[] = [];
  /** Size of each blob uploaded (also with hashOnly). */
  readonly uploadedSizes = new Map<string, number>();
  /** Repositories that do not exist: an upload to them is refused with 404 (ECR, Harbor without auto-create). */
  readonly missingRepositories = new Set<string>();
  private readonly uploads = new Map<string, { repository: string; parts: Buffer[]; hash: Hash; size: number }>();
  private readonly tokens = new Map<string, string[]>();
  private readonly server: Server;
  private readonly options: FakeRegistryOptions;
  address = '';

  constructor(options: FakeRegistryOptions = {}) {
    this.options = options;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(e));
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.address = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Stores a blob in `repository`; its digest. */
  addBlob(repository: string, bytes: Buffer): string {
    const digest = digestOf(bytes);
    this.blobs.set(digest, bytes);
    this.link(repository, digest);
    return digest;
  }

  /** Stores an image (config + layers) in `repository`; the manifest's digest and bytes. */
  addImage(
    repository: string,
    layers: Buffer[],
    labels: Record<string, string> = {},
  ): { digest: string; bytes: Buffer } {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: labels } }));
    const descriptor = (mediaType: string, bytes: Buffer) => ({
      mediaType,
      digest: this.addBlob(repository, bytes),
      size: bytes.length,
    });
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: descriptor('application/vnd.oci.image.config.v1+json', config),
        layers: layers.map((l) => descriptor('application/vnd.oci.image.layer.v1.tar', l)),
      }),
    );
    return {
      digest: this.putManifest(repository, manifest, 'application/vnd.oci.image.manifest.v1+json'),
      bytes: manifest,
    };
  }

  putManifest(repository: string, bytes: Buffer, mediaType: string): string {
    const digest = digestOf(bytes);
    const repo = this.manifests.get(repository) ?? new Map();
    repo.set(digest, { bytes, mediaType });
    this.manifests.set(repository, repo);
    return digest;
  }

  /** Uploads started and neither committed nor deleted. */
  get openUploads(): number {
    return this.uploads.size;
  }

  hasBlob(repository: string, digest: string): boolean {
    return this.links.get(repository)?.has(digest) ?? false;
  }

  private link(repository: string, digest: string): void {
    const set = this.links.get(repository) ?? new Set();
    set.add(digest);
    this.links.set(repository, set);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${this.address}`);
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, query: url.searchParams });
    if (url.pathname === '/token') return this.token(req, res, url);
    const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(url.pathname);
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    const uploads = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(url.pathname);
    const repository = (manifest ?? blob ?? uploads)?.[1];
    if (!repository) return void res.writeHead(404).end();
    const push = method !== 'GET' && method !== 'HEAD';
    if (!this.authorized(req, repository, push)) {
      const scope = `repository:${repository}:${push ? 'push,pull' : 'pull'}`;
      res.writeHead(401, {
        'WWW-Authenticate': `Bearer realm="http://${this.address}/token",service="fake-registry",scope="${scope}"`,
      });
      return void res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
    }
    if (manifest) return this.manifest(req, res, repository, manifest[2] as string);
    if (blob) return this.blob(req, res, repository, blob[2] as string);
    return this.upload(req, res, repository, uploads?.[2] ?? '', url);
  }

  private authorized(req: IncomingMessage, repository: string, push: boolean): boolean {
    if (!this.options.bearer) return true;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const scopes = token ? this.tokens.get(token) : undefined;
    if (!scopes) return false;
    const wanted = `repository:${repository}:${push ? 'push,pull' : 'pull'}`;
    return scopes.includes(wanted) || scopes.includes(`repository:${repository}:push,pull`);
  }

  private token(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const { username, password } = this.options.bearer ?? { username: '', password: '' };
    const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    if (req.headers.authorization !== expected) return void res.writeHead(401).end();
    const scopes = url.searchParams.getAll('scope');
    this.tokenScopes.push(scopes);
    const token = randomUUID();
    this.tokens.set(token, scopes);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
  }

  private manifest(req: IncomingMessage, res: ServerResponse, repository: string, reference: string): void {
    const repo = this.manifests.get(repository);
    if (req.method === 'PUT') {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const bytes = Buffer.concat(parts);
        const digest = this.putManifest(repository, bytes, req.headers['content-type'] ?? '');
        if (reference.startsWith('sha256:') && reference !== digest) return void res.writeHead(400).end();
        res.writeHead(201, { 'Docker-Content-Digest': digest }).end();
      });
      return;
    }
    const found = repo?.get(reference);
    if (!found) return void res.writeHead(404).end();
    const bytes = this.corruptManifests.has(reference) ? Buffer.from(`${found.bytes.toString()} `) : found.bytes;
    res.writeHead(200, {
      'Content-Type': found.mediaType,
      'Content-Length': bytes.length,
      'Docker-Content-Digest': reference,
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }

  private blob(req: IncomingMessage, res: ServerResponse, repository: string, digest: string): void {
    const bytes = this.hasBlob(repository, digest) ? this.blobs.get(digest) : undefined;
    if (!bytes) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Length': bytes.length, 'Docker-Content-Digest': digest });
    if (req.method === 'HEAD') return void res.end();
    const stall = this.stallAfter.get(digest);
    if (stall !== undefined) {
      res.write(bytes.subarray(0, stall));
      return; // never ends: the client gives up or goes away
    }
    if (this.corrupt.has(digest)) {
      const changed = Buffer.from(bytes);
      changed[changed.length - 1] = (changed[changed.length - 1] ?? 0) ^ 0xff;
      return void res.end(changed);
    }
    res.end(bytes);
  }

  private upload(req: IncomingMessage, res: ServerResponse, repository: string, id: string, url: URL): void {
    if (req.method === 'POST') {
      if (this.missingRepositories.has(repository)) return void res.writeHead(404).end();
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from');
      if (mount && from && this.hasBlob(from, mount)) {
        this.link(repository, mount);
        return void res.writeHead(201, { Location: `/v2/${repository}/blobs/${mount}` }).end();
      }
      const uuid = randomUUID();
      this.uploads.set(uuid, { repository, parts: [], hash: createHash('sha256'), size: 0 });
      return void res.writeHead(202, { Location: `/v2/${repository}/blobs/uploads/${uuid}?_state=s1` }).end();
    }
    const upload = this.uploads.get(id);
    if (!upload) return void res.writeHead(404).end();
    if (req.method === 'DELETE') {
      this.uploads.delete(id);
      this.deletedUploads.push(id);
      return void res.writeHead(204).end();
    }
    req.on('data', (c: Buffer) => {
      upload.hash.update(c);
      upload.size += c.length;
      if (!this.options.hashOnly) upload.parts.push(c);
    });
    req.on('end', () => {
      if (req.method === 'PATCH' && this.options.ecrPatch) return void res.writeHead(201).end();
      if (req.method === 'PATCH')
        return void res.writeHead(202, { Location: `/v2/${repository}/blobs/uploads/${id}?_state=s2` }).end();
      const digest = url.searchParams.get('digest');
      if (digest !== `sha256:${upload.hash.digest('hex')}`)
        return void res.writeHead(400).end('{"errors":[{"code":"DIGEST_INVALID"}]}');
      this.uploads.delete(id);
      this.blobs.set(digest, Buffer.concat(upload.parts));
      this.uploadedSizes.set(digest, upload.size);
      this.link(repository, digest);
      res.writeHead(201, { Location: `/v2/${repository}/blobs/${digest}`, 'Docker-Content-Digest': digest }).end();
    });
  }
}
