// The image copier against in-memory registries on 127.0.0.1 (test/support/fake-registry.ts), for what real
// registries do not do on demand: a source whose blob or manifest bytes do not match their digest, a source that
// stalls, a copy aborted in the middle of a layer, and Bearer tokens with the scopes a push and a mount need.

import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createImageCopier } from '../../src/adapters/registry/index.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import type { RegistryConfig } from '../../src/config/schema.ts';
import { DockhandError } from '../../src/errors.ts';
import { FakeRegistry } from '../support/fake-registry.ts';

const SECRET = 'hunter2-registry-secret';
const layer = (size: number, seed: number): Buffer => Buffer.alloc(size, seed);

describe('image copier (fake registries over HTTP)', () => {
  let source: FakeRegistry;
  let target: FakeRegistry;

  beforeEach(async () => {
    source = new FakeRegistry();
    target = new FakeRegistry({ bearer: { username: 'robot', password: SECRET } });
    await Promise.all([source.start(), target.start()]);
  });

  afterEach(async () => {
    await Promise.all([source.stop(), target.stop()]);
  });

  const copier = (httpTimeoutMs?: number) => {
    const registries: Record<string, RegistryConfig> = {
      src: { type: 'registry', address: source.address, insecure: true },
      dst: { type: 'registry', address: target.address, insecure: true, username: 'robot', password: SECRET },
    };
    return createImageCopier(registries, { clock: systemClock, ...(httpTimeoutMs ? { httpTimeoutMs } : {}) });
  };
  const request = (digest: string) => ({
    digest,
    from: { registry: 'src', repository: 'team/app' },
    to: { registry: 'dst', repository: 'prod/app' },
  });

  it('copies with Bearer tokens scoped push,pull on the target and reads labels', async () => {
    const image = source.addImage('team/app', [layer(70_000, 1), layer(10, 2)], {
      'org.opencontainers.image.revision': 'abc123',
    });
    const result = await copier().copy(request(image.digest));
    expect(result.method).toBe('copy');
    expect(result.digest).toBe(image.digest);
    expect(target.manifests.get('prod/app')?.get(image.digest)?.bytes.equals(image.bytes)).toBe(true);
    // one token for every call of the copy: the target's push scope, asked once
    expect(target.tokenScopes).toEqual([['repository:prod/app:push,pull']]);
    expect(await copier().labels({ registry: 'dst', repository: 'prod/app' }, image.digest)).toEqual({
      'org.opencontainers.image.revision': 'abc123',
    });
  });

  it('streams a layer without holding it in memory', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const sink = new FakeRegistry({ hashOnly: true });
    await sink.start();
    try {
      const size = 32 * 1024 * 1024;
      const image = source.addImage('team/app', [layer(size, 11)]);
      const registries: Record<string, RegistryConfig> = {
        src: { type: 'registry', address: source.address, insecure: true },
        dst: { type: 'registry', address: sink.address, insecure: true },
      };
      gc();
      const baseline = process.memoryUsage().arrayBuffers;
      let peak = 0;
      let reports = 0;
      const result = await createImageCopier(registries, { clock: systemClock }).copy({
        ...request(image.digest),
        onProgress: () => {
          if (++reports % 5 !== 0) return;
          gc();
          peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
        },
      });
      expect(result.bytes).toBeGreaterThan(size);
      expect([...sink.uploadedSizes.values()]).toContain(size);
      console.info(`32 MiB layer copied with at most ${Math.round(peak / 1048576)} MiB of buffers held`);
      expect(peak).toBeLessThan(12 * 1024 * 1024);
    } finally {
      await sink.stop();
    }
  });

  it('accepts an upload PATCH answered as ECR does (201, no Location)', async () => {
    const ecrLike = new FakeRegistry({ ecrPatch: true });
    await ecrLike.start();
    try {
      const image = source.addImage('team/app', [layer(5000, 9)]);
      const registries: Record<string, RegistryConfig> = {
        src: { type: 'registry', address: source.address, insecure: true },
        dst: { type: 'registry', address: ecrLike.address, insecure: true },
      };
      const result = await createImageCopier(registries, { clock: systemClock }).copy(request(image.digest));
      expect(result.method).toBe('copy');
      expect(ecrLike.manifests.get('prod/app')?.get(image.digest)?.bytes.equals(image.bytes)).toBe(true);
      expect(ecrLike.requests.filter((r) => r.method === 'PATCH').length).toBe(2); // config and layer
    } finally {
      await ecrLike.stop();
    }
  });

  it('mounts within one registry with a token for the target push and the source pull', async () => {
    const image = target.addImage('team/app', [layer(1000, 3)]);
    const registries: Record<string, RegistryConfig> = {
      dst: { type: 'registry', address: target.address, insecure: true, username: 'robot', password: SECRET },
    };
    const result = await createImageCopier(registries, { clock: systemClock }).copy({
      digest: image.digest,
      from: { registry: 'dst', repository: 'team/app' },
      to: { registry: 'dst', repository: 'prod/app' },
    });
    expect(result).toEqual({ digest: image.digest, method: 'mount', bytes: 0 });
    expect(target.tokenScopes).toContainEqual(['repository:prod/app:push,pull', 'repository:team/app:pull']);
    expect(target.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
  });

  it('refuses a blob whose bytes do not match its digest and commits nothing', async () => {
    const image = source.addImage('team/app', [layer(50_000, 4)]);
    const bad = [...source.blobs.keys()].find((d) => source.blobs.get(d)?.length === 50_000) as string;
    source.corrupt.add(bad);
    const error = (await copier()
      .copy(request(image.digest))
      .catch((e: unknown) => e)) as DockhandError;
    expect(error).toBeInstanceOf(DockhandError);
    expect(error.code).toBe('registry');
    expect(error.message).toBe(
      `registry "src" (${source.address}) sent the blob ${bad} of team/app with other bytes ` +
        `(sha256:${createHash('sha256')
          .update(corrupted(source.blobs.get(bad) as Buffer))
          .digest('hex')}); ` +
        'nothing was committed to prod/app',
    );
    expect(target.hasBlob('prod/app', bad)).toBe(false);
    expect(target.manifests.get('prod/app')).toBeUndefined();
    expect(target.requests.some((r) => r.method === 'PUT' && r.query.get('digest') === bad)).toBe(false);
    expect(target.deletedUploads.length).toBeGreaterThanOrEqual(1);
    await expect.poll(() => target.openUploads).toBe(0);
  });

  it('moves layers in parallel; the first failure stops the others and is the one reported', async () => {
    const image = source.addImage('team/app', [layer(90_000, 12), layer(20_000, 13)]);
    const sized = (n: number) => [...source.blobs.keys()].find((d) => source.blobs.get(d)?.length === n) as string;
    source.stallAfter.set(sized(90_000), 1000); // the largest goes first and never finishes
    source.corrupt.add(sized(20_000));
    const started = performance.now();
    const error = (await copier()
      .copy(request(image.digest))
      .catch((e: unknown) => e)) as DockhandError;
    expect(error.message).toContain(`sent the blob ${sized(20_000)} of team/app with other bytes`);
    expect(performance.now() - started).toBeLessThan(5_000); // not the 30 s idle timeout of the stalled layer
    expect(target.openUploads).toBe(0);
    expect(target.manifests.get('prod/app')).toBeUndefined();
  });

  it('refuses a manifest whose bytes do not match the digest asked for', async () => {
    const image = source.addImage('team/app', [layer(10, 5)]);
    source.corruptManifests.add(image.digest);
    const error = (await copier()
      .copy(request(image.digest))
      .catch((e: unknown) => e)) as DockhandError;
    expect(error.message).toBe(
      `registry "src" (${source.address}) sent a manifest for team/app@${image.digest} whose bytes do not match that digest`,
    );
    expect(target.requests.filter((r) => r.method === 'POST')).toEqual([]);
  });

  it('stops in the middle of a layer when aborted, and leaves no manifest in the target', async () => {
    const image = source.addImage('team/app', [layer(200_000, 6)]);
    const big = [...source.blobs.keys()].find((d) => source.blobs.get(d)?.length === 200_000) as string;
    source.stallAfter.set(big, 64_000);
    const controller = new AbortController();
    const started = performance.now();
    const error = await copier()
      .copy({
        ...request(image.digest),
        signal: controller.signal,
        onProgress: (copied) => {
          if (copied >= 64_000) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect((error as Error).name).toBe('AbortError');
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(target.manifests.get('prod/app')).toBeUndefined();
    expect(target.hasBlob('prod/app', big)).toBe(false);
    expect(target.deletedUploads.length).toBeGreaterThanOrEqual(1);
    await expect.poll(() => target.openUploads).toBe(0);
  });

  it('gives up on a source that stalls, naming both registries', async () => {
    const image = source.addImage('team/app', [layer(100_000, 7)]);
    const big = [...source.blobs.keys()].find((d) => source.blobs.get(d)?.length === 100_000) as string;
    source.stallAfter.set(big, 1000);
    const error = (await copier(300)
      .copy(request(image.digest))
      .catch((e: unknown) => e)) as DockhandError;
    expect(error).toBeInstanceOf(DockhandError);
    expect(error.message).toBe(
      `copying the blob ${big} from registry "src" (${source.address}) to registry "dst" (${target.address}) stalled: no bytes for 300 ms`,
    );
    expect(target.manifests.get('prod/app')).toBeUndefined();
  });

  it('says which token the target refused, without the password', async () => {
    const image = source.addImage('team/app', [layer(10, 8)]);
    const registries: Record<string, RegistryConfig> = {
      src: { type: 'registry', address: source.address, insecure: true },
      dst: { type: 'registry', address: target.address, insecure: true, username: 'robot', password: `${SECRET}-no` },
    };
    const error = (await createImageCopier(registries, { clock: systemClock })
      .copy(request(image.digest))
      .catch((e: unknown) => e)) as DockhandError;
    expect(error.message).toBe(
      `registry "dst" (${target.address}) refused the configured credentials (HTTP 401) to look up prod/app@${image.digest}`,
    );
    expect(JSON.stringify([error.message, error.hint])).not.toContain(SECRET);
  });

  it('says to create a target repository the registry does not have', async () => {
    const image = source.addImage('team/app', [layer(10, 10)]);
    target.missingRepositories.add('prod/app');
    const error = (await copier()
      .copy(request(image.digest))
      .catch((e: unknown) => e)) as DockhandError;
    expect(error.message).toBe(`registry "dst" (${target.address}) has no repository prod/app`);
    expect(error.hint).toBe('Create the repository in the registry first.');
  });

  it('refuses bad input before any request', async () => {
    await expect(copier().copy(request('sha256:nothex'))).rejects.toThrow('“sha256:nothex” is not an image digest');
    await expect(
      copier().copy({ ...request(`sha256:${'a'.repeat(64)}`), to: { registry: 'nowhere', repository: 'x' } }),
    ).rejects.toThrow('unknown registry "nowhere" (defined: src, dst)');
    expect(source.requests).toEqual([]);
    expect(target.requests).toEqual([]);
  });
});

const corrupted = (bytes: Buffer): Buffer => {
  const changed = Buffer.from(bytes);
  changed[changed.length - 1] = (changed[changed.length - 1] ?? 0) ^ 0xff;
  return changed;
};
