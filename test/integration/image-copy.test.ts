// The image copier (src/adapters/registry/) against the real registries of scripts/test-services.sh: the plain one
// (:5000) and the one with htpasswd basic auth (:5001). Images are built and pushed by the real engine; the copier
// itself speaks only HTTP to the registries. Checks: a mount between repositories of one registry, a byte copy
// between the two registries that `docker pull` by digest accepts, a two-platform index, an image already there,
// wrong credentials, and ECR's login token (the real SDK client to the fake AWS, whose proxy endpoint is :5001).

import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DockerImageBuilder } from '../../src/adapters/docker/image-builder.ts';
import { createImageRegistry } from '../../src/adapters/docker/registries.ts';
import { createImageCopier } from '../../src/adapters/registry/index.ts';
import { MANIFEST_ACCEPT } from '../../src/adapters/registry/media-types.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import type { RegistryConfig } from '../../src/config/schema.ts';
import { DockhandError } from '../../src/errors.ts';
import {
  describeWithAuthRegistry,
  followStream,
  makeBusyboxContext,
  randomTag,
  streamError,
} from '../support/docker.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

const WRONG_PASSWORD = 'not-the-password-51ab';
const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

interface Logged {
  method: string;
  url: string;
  status: number;
}

/** globalThis.fetch that logs each call (method, URL without the query's secrets — there are none — and status). */
const loggingFetch = (log: Logged[]): typeof fetch =>
  (async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetch(input, init);
    log.push({ method: init?.method ?? 'GET', url: String(input), status: res.status });
    return res;
  }) as typeof fetch;

await describeWithAuthRegistry(
  'image copy over the registry HTTP API (real registries)',
  ({ docker, registry, auth }) => {
    const tag = randomTag('copy');
    const source = 'dockhand-test/copy-src';
    const created = { images: [] as string[], dirs: [] as string[] };
    const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const registries = (password = auth.password): Record<string, RegistryConfig> => ({
      plain: { type: 'registry', address: registry, insecure: true },
      inhouse: { type: 'registry', address: auth.address, insecure: true, username: auth.username, password },
    });
    const copier = (log: Logged[] = [], password?: string) =>
      createImageCopier(registries(password), { clock: systemClock, fetch: loggingFetch(log) });

    /** The digest a registry serves for repository@reference, or null. */
    const served = async (address: string, repository: string, reference: string, authorization?: string) => {
      const res = await fetch(`http://${address}/v2/${repository}/manifests/${reference}`, {
        method: 'HEAD',
        headers: { Accept: MANIFEST_ACCEPT, ...(authorization ? { Authorization: authorization } : {}) },
      });
      return res.status === 200 ? res.headers.get('docker-content-digest') : null;
    };

    /** Builds an image with its own layer and revision label and pushes it to the plain registry. */
    const buildAndPush = async (name: string, revision: string): Promise<{ digest: string; ref: string }> => {
      const dir = await mkdtemp(join(tmpdir(), 'dockhand-copy-ctx-'));
      created.dirs.push(dir);
      await makeBusyboxContext(dir, {
        dockerfileExtra: `RUN head -c 300000 /dev/urandom > /noise.bin\nLABEL org.opencontainers.image.revision=${revision}`,
      });
      const ref = `${registry}/${source}:${name}`;
      await new DockerImageBuilder(docker).build({
        contextDir: dir,
        dockerfile: 'Dockerfile',
        buildArgs: {},
        tags: [ref],
      });
      created.images.push(ref);
      const images = createImageRegistry('plain', registries().plain as RegistryConfig, { docker, clock: systemClock });
      return { ...(await images.push({ image: ref })), ref };
    };

    /** The manifest bytes of repository@digest in the plain registry and the sizes of its blobs. */
    const manifest = async (digest: string) => {
      const res = await fetch(`http://${registry}/v2/${source}/manifests/${digest}`, {
        headers: { Accept: MANIFEST_ACCEPT },
      });
      const text = await res.text();
      const json = JSON.parse(text) as { mediaType: string; config: { size: number }; layers: { size: number }[] };
      return { text, json, blobBytes: json.config.size + json.layers.reduce((s, l) => s + l.size, 0) };
    };

    let image: { digest: string; ref: string };
    let revision: string;

    beforeAll(async () => {
      revision = `rev-${tag}`;
      image = await buildAndPush(tag, revision);
    });

    afterAll(async () => {
      for (const ref of created.images.reverse())
        await docker
          .getImage(ref)
          .remove({ force: true })
          .catch(() => {});
      for (const dir of created.dirs) await rm(dir, { recursive: true, force: true });
    });

    it('mounts the blobs between repositories of one registry: no blob bytes move', async () => {
      const log: Logged[] = [];
      const target = `dockhand-test/copy-mount-${tag}`;
      const result = await copier(log).copy({
        digest: image.digest,
        from: { registry: 'plain', repository: source },
        to: { registry: 'plain', repository: target },
      });
      expect(result).toEqual({ digest: image.digest, method: 'mount', bytes: 0 });
      expect(await served(registry, target, image.digest)).toBe(image.digest);
      const mounts = log.filter((c) => c.method === 'POST' && c.url.includes('mount='));
      expect(mounts.length).toBe(1 + (await manifest(image.digest)).json.layers.length); // config and layers
      expect(mounts.every((c) => c.status === 201)).toBe(true);
      expect(log.filter((c) => c.method === 'GET' && c.url.includes('/blobs/'))).toEqual([]);
    });

    it('copies between two registries byte for byte; the engine pulls the copy by digest', async () => {
      const log: Logged[] = [];
      const target = `dockhand-test/copy-dst-${tag}`;
      const progress: [number, number][] = [];
      const started = performance.now();
      const result = await copier(log).copy({
        digest: image.digest,
        from: { registry: 'plain', repository: source },
        to: { registry: 'inhouse', repository: target },
        onProgress: (copied, total) => progress.push([copied, total]),
      });
      console.info(`copy between registries ${Math.round(performance.now() - started)} ms, ${log.length} HTTP calls`);
      const { blobBytes } = await manifest(image.digest);
      expect(result).toEqual({ digest: image.digest, method: 'copy', bytes: blobBytes });
      expect(progress[0]).toEqual([0, blobBytes]);
      expect(progress.at(-1)).toEqual([blobBytes, blobBytes]);
      expect(await served(auth.address, target, image.digest, basic)).toBe(image.digest);

      // The engine forgets the image it built, so the pull really fetches every blob of the copy.
      await docker.getImage(image.ref).remove({ force: true });
      const pinned = `${auth.address}/${target}@${image.digest}`;
      created.images.push(pinned);
      const stream = await docker.pull(pinned, {
        authconfig: { username: auth.username, password: auth.password, serveraddress: auth.address },
      });
      const events = await followStream(docker, stream as NodeJS.ReadableStream);
      expect(streamError(events)).toBeUndefined();
      expect((await docker.getImage(pinned).inspect()).RepoDigests).toContain(pinned);

      // Again: the target has the manifest, one look-up and nothing else.
      const again: Logged[] = [];
      expect(
        await copier(again).copy({
          digest: image.digest,
          from: { registry: 'plain', repository: source },
          to: { registry: 'inhouse', repository: target },
        }),
      ).toEqual({ digest: image.digest, method: 'present', bytes: 0 });
      expect(again.map((c) => `${c.method} ${new URL(c.url).pathname}`)).toEqual([
        `HEAD /v2/${target}/manifests/${image.digest}`,
      ]);
    });

    it('reads the revision label from the image config', async () => {
      expect(await copier().labels({ registry: 'plain', repository: source }, image.digest)).toMatchObject({
        'org.opencontainers.image.revision': revision,
      });
    });

    it('copies a two-platform index with its children; labels come from the linux/amd64 child', async () => {
      const arm = await buildAndPush(`${tag}-arm`, `arm-${tag}`);
      const children = await Promise.all(
        [arm.digest, image.digest].map(async (digest) => ({ digest, ...(await manifest(digest)) })),
      );
      const index = JSON.stringify({
        schemaVersion: 2,
        mediaType: LIST,
        manifests: children.map((c, i) => ({
          mediaType: c.json.mediaType,
          digest: c.digest,
          size: Buffer.byteLength(c.text),
          platform:
            i === 0 ? { architecture: 'arm64', os: 'linux', variant: 'v8' } : { architecture: 'amd64', os: 'linux' },
        })),
      });
      const indexDigest = `sha256:${createHash('sha256').update(index).digest('hex')}`;
      const put = await fetch(`http://${registry}/v2/${source}/manifests/${indexDigest}`, {
        method: 'PUT',
        headers: { 'Content-Type': LIST },
        body: index,
      });
      expect(put.status).toBe(201);

      const target = `dockhand-test/copy-index-${tag}`;
      const result = await copier().copy({
        digest: indexDigest,
        from: { registry: 'plain', repository: source },
        to: { registry: 'inhouse', repository: target },
      });
      expect(result.digest).toBe(indexDigest);
      expect(result.method).toBe('copy');
      expect(await served(auth.address, target, indexDigest, basic)).toBe(indexDigest);
      for (const child of children) expect(await served(auth.address, target, child.digest, basic)).toBe(child.digest);
      const got = await fetch(`http://${auth.address}/v2/${target}/manifests/${indexDigest}`, {
        headers: { Accept: MANIFEST_ACCEPT, Authorization: basic },
      });
      expect(got.headers.get('content-type')).toBe(LIST);
      expect(await got.text()).toBe(index);

      expect(await copier().labels({ registry: 'inhouse', repository: target }, indexDigest)).toMatchObject({
        'org.opencontainers.image.revision': revision,
      });
    });

    it('refuses wrong credentials with an error naming the registry and repository, never the password', async () => {
      const target = `dockhand-test/copy-wrong-${tag}`;
      const error = await copier([], WRONG_PASSWORD)
        .copy({
          digest: image.digest,
          from: { registry: 'plain', repository: source },
          to: { registry: 'inhouse', repository: target },
        })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DockhandError);
      const e = error as DockhandError;
      expect(e.code).toBe('registry');
      expect(e.message).toBe(
        `registry "inhouse" (${auth.address}) refused the configured credentials (HTTP 401) to look up ${target}@${image.digest}`,
      );
      expect(e.hint).toBe(`Check the credentials configured for ${auth.address}.`);
      expect(JSON.stringify([e.message, e.hint, String(e.cause ?? '')])).not.toContain(WRONG_PASSWORD);
      expect(await served(auth.address, target, image.digest, basic)).toBeNull();

      const anonymous = createImageCopier(
        {
          plain: registries().plain as RegistryConfig,
          inhouse: { type: 'registry', address: auth.address, insecure: true },
        },
        { clock: systemClock },
      );
      const missing = (await anonymous
        .copy({
          digest: image.digest,
          from: { registry: 'plain', repository: source },
          to: { registry: 'inhouse', repository: target },
        })
        .catch((x: unknown) => x)) as DockhandError;
      expect(missing.message).toContain(`registry "inhouse" (${auth.address}) needs credentials (HTTP 401)`);
      expect(missing.hint).toBe(`Set username and password for ${auth.address} under registries in dockhand.yml.`);
    });

    it('ECR: copies with the login token GetAuthorizationToken returns, fetched once for two copies', async () => {
      const aws = new FakeAws({
        ecr: {
          proxyEndpoint: `http://${auth.address}`,
          username: auth.username,
          password: auth.password,
          tokenTtlSeconds: 12 * 3600,
        },
      });
      await aws.start();
      try {
        const client = new ECRClient({
          endpoint: aws.url,
          region: 'us-east-1',
          credentials: { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret' },
          maxAttempts: 1,
        });
        const ecrCopier = createImageCopier(
          { plain: registries().plain as RegistryConfig, ecr: { type: 'ecr' } },
          { clock: systemClock, ecr: () => client },
        );
        for (const suffix of ['a', 'b']) {
          const target = `dockhand-test/copy-ecr-${suffix}-${tag}`;
          const result = await ecrCopier.copy({
            digest: image.digest,
            from: { registry: 'plain', repository: source },
            to: { registry: 'ecr', repository: target },
          });
          expect(result.method).toBe('copy');
          expect(await served(auth.address, target, image.digest, basic)).toBe(image.digest);
        }
        expect(aws.calls['ECR.GetAuthorizationToken']).toBe(1);

        // A token the registry refuses: a clear error without the token, and the next copy asks for a new one.
        aws.ecrPassword = WRONG_PASSWORD;
        const refusing = createImageCopier({ ecr: { type: 'ecr' } }, { clock: systemClock, ecr: () => client });
        const e = (await refusing
          .labels({ registry: 'ecr', repository: source }, image.digest)
          .catch((x: unknown) => x)) as DockhandError;
        expect(e).toBeInstanceOf(DockhandError);
        expect(e.message).toContain(
          `ECR registry "ecr" refused dockhand's ECR login token (HTTP 401) to read ${source}@${image.digest}`,
        );
        expect(JSON.stringify([e.message, e.hint])).not.toContain(WRONG_PASSWORD);
        aws.ecrPassword = auth.password;
        await expect(
          refusing.labels({ registry: 'ecr', repository: `dockhand-test/copy-ecr-a-${tag}` }, image.digest),
        ).resolves.toMatchObject({ 'org.opencontainers.image.revision': revision });
        expect(aws.calls['ECR.GetAuthorizationToken']).toBe(3);
      } finally {
        await aws.stop();
      }
    });
  },
);
