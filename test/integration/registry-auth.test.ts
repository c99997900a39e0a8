// The registries of dockhand.yml against a real registry with htpasswd basic auth (scripts/test-services.sh's
// auth-registry piece): pushes through the real engine with the configured credentials, tag look-ups over the
// registry's HTTP API with them, wrong credentials, and the ECR path with the user and token that
// GetAuthorizationToken returns — the real SDK client over HTTP to the fake AWS, whose token is the auth registry's
// user:password.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EngineHostRuntime, LABELS } from '../../src/adapters/docker/host-runtime.ts';
import { DockerImageBuilder } from '../../src/adapters/docker/image-builder.ts';
import { createImageRegistry, ECR_TOKEN_MARGIN_MS, MANIFEST_ACCEPT } from '../../src/adapters/docker/registries.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { DockhandError } from '../../src/errors.ts';
import type { DockerHostTarget } from '../../src/ports.ts';
import { FakeClock } from '../support/deploy-fakes.ts';
import { describeWithAuthRegistry, makeBusyboxContext, randomTag } from '../support/docker.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

const WRONG_PASSWORD = 'not-the-password-9c1e';

await describeWithAuthRegistry('registries with basic auth (real engine and registry)', ({ docker, auth }) => {
  const repository = 'dockhand-test/auth-push';
  const tag = randomTag('auth');
  const ref = `${auth.address}/${repository}:${tag}`;
  const created = { images: [] as string[], dirs: [] as string[] };
  const basic = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;

  /** The digest the registry itself serves for repository:tag, asked with the right credentials. */
  const servedDigest = async (repo: string, t: string): Promise<string | null> => {
    const res = await fetch(`http://${auth.address}/v2/${repo}/manifests/${t}`, {
      method: 'HEAD',
      headers: { Accept: MANIFEST_ACCEPT, Authorization: basic },
    });
    return res.status === 200 ? res.headers.get('docker-content-digest') : null;
  };

  const registry = (credentials: { username?: string; password?: string }) =>
    createImageRegistry(
      'inhouse',
      { type: 'registry', address: auth.address, insecure: true, ...credentials },
      { docker, clock: systemClock },
    );

  const expectCredentialError = (error: unknown, secret: string): DockhandError => {
    expect(error).toBeInstanceOf(DockhandError);
    const e = error as DockhandError;
    expect(e.code).toBe('registry');
    expect(e.message).toContain(auth.address);
    expect(e.hint).toBe(`Check the credentials configured for ${auth.address}.`);
    expect(JSON.stringify([e.message, e.hint, String(e.cause ?? '')])).not.toContain(secret);
    return e;
  };

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dockhand-auth-ctx-'));
    created.dirs.push(dir);
    await makeBusyboxContext(dir, { dockerfileExtra: `RUN echo ${tag} > /tag.txt` });
    await new DockerImageBuilder(docker).build({
      contextDir: dir,
      dockerfile: 'Dockerfile',
      buildArgs: {},
      tags: [ref],
    });
    created.images.push(ref);
  });

  afterAll(async () => {
    for (const image of created.images.reverse())
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => {});
    for (const dir of created.dirs) await rm(dir, { recursive: true, force: true });
  });

  it('pushes with the configured user and password and looks the tag up with them', async () => {
    const images = registry({ username: auth.username, password: auth.password });
    const progress: number[] = [];
    const started = performance.now();
    const { digest } = await images.push({ image: ref, onProgress: (p) => progress.push(p) });
    console.info(`push with basic auth ${Math.round(performance.now() - started)} ms`);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(progress.at(-1)).toBe(100);
    expect(await servedDigest(repository, tag)).toBe(digest);

    expect(await images.resolveTag(repository, tag)).toBe(digest);
    expect(await images.resolveTag(repository, 'no-such-tag')).toBeUndefined();
    expect(await images.auth?.()).toEqual({
      username: auth.username,
      password: auth.password,
      serveraddress: auth.address,
    });
  });

  it('refuses a wrong password with an error naming the registry, never the password, and pushes nothing', async () => {
    const wrongTag = `${tag}-wrong`;
    const wrongRef = `${auth.address}/${repository}:${wrongTag}`;
    await docker.getImage(ref).tag({ repo: `${auth.address}/${repository}`, tag: wrongTag });
    created.images.push(wrongRef);
    const images = registry({ username: auth.username, password: WRONG_PASSWORD });

    const push = expectCredentialError(await images.push({ image: wrongRef }).catch((e: unknown) => e), WRONG_PASSWORD);
    expect(push.message).toContain(`pushing ${wrongRef} to registry "inhouse" (${auth.address}) failed:`);
    expect(push.message).toMatch(/unauthorized|authentication required/i);
    expect(await servedDigest(repository, wrongTag)).toBeNull();

    const lookup = expectCredentialError(
      await images.resolveTag(repository, tag).catch((e: unknown) => e),
      WRONG_PASSWORD,
    );
    expect(lookup.message).toBe(
      `registry "inhouse" (${auth.address}) refused the configured credentials (HTTP 401) looking up ${repository}:${tag}`,
    );
  });

  it('says credentials are needed when the registry has none configured', async () => {
    const images = registry({});
    const push = expectCredentialError(await images.push({ image: ref }).catch((e: unknown) => e), auth.password);
    expect(push.message).toMatch(/unauthorized|authentication required|no basic auth credentials/i);
    const lookup = (await images.resolveTag(repository, tag).catch((e: unknown) => e)) as DockhandError;
    expect(lookup).toBeInstanceOf(DockhandError);
    expect(lookup.message).toBe(
      `registry "inhouse" (${auth.address}) needs credentials (HTTP 401) to look up ${repository}:${tag}`,
    );
    expect(lookup.hint).toBe(`Set username and password for ${auth.address} under registries in dockhand.yml.`);
  });

  it('a Docker host pulls with the credentials; with a wrong password it starts nothing', async () => {
    // An image of its own, pushed and then removed from the engine, so the pull really has to fetch it.
    const hostRef = `${auth.address}/${repository}:${tag}-host`;
    const dir = await mkdtemp(join(tmpdir(), 'dockhand-auth-host-'));
    created.dirs.push(dir);
    await makeBusyboxContext(dir, {
      dockerfileExtra: `RUN echo host-${tag} > /tag.txt\nSTOPSIGNAL SIGKILL\nCMD ["sleep", "3600"]`,
    });
    await new DockerImageBuilder(docker).build({
      contextDir: dir,
      dockerfile: 'Dockerfile',
      buildArgs: {},
      tags: [hostRef],
    });
    const images = registry({ username: auth.username, password: auth.password });
    const { digest } = await images.push({ image: hostRef });
    const pinned = `${auth.address}/${repository}@${digest}`;
    created.images.push(pinned, hostRef);
    await docker.getImage(hostRef).remove({ force: true });

    const runtime = new EngineHostRuntime({
      clock: systemClock,
      networkMode: 'none',
      runningGraceMs: 500,
      pollMs: 200,
    });
    const target: DockerHostTarget = {
      service: `auth-${tag}`.toLowerCase(),
      environment: 'box',
      host: process.env.DOCKER_HOST ?? '',
      container: `dockhand-auth-${tag}`.toLowerCase(),
      ports: [],
      env: {},
      volumes: [],
      replicas: 1,
    };
    const containers = () =>
      docker.listContainers({ all: true, filters: { label: [`${LABELS.service}=${target.service}`] } });
    try {
      const wrong = registry({ username: auth.username, password: WRONG_PASSWORD });
      const refused = (await runtime
        .deploy({ target, image: pinned, auth: await wrong.auth?.(), pull: true, deploymentId: 'dep_authwrong01' })
        .catch((e: unknown) => e)) as DockhandError;
      expect(refused).toBeInstanceOf(DockhandError);
      expect(refused.code).toBe('registry');
      expect(refused.message).toContain(`pulling ${pinned}`);
      expect(refused.message).toMatch(/unauthorized|authentication required/i);
      expect(refused.hint).toMatch(/credentials/);
      expect(JSON.stringify([refused.message, refused.hint])).not.toContain(WRONG_PASSWORD);
      expect(await containers()).toEqual([]);

      const result = await runtime.deploy({
        target,
        image: pinned,
        auth: await images.auth?.(),
        pull: true,
        deploymentId: 'dep_authright02',
      });
      expect(result.containers).toHaveLength(1);
      const running = await containers();
      expect(running.map((c) => c.State)).toEqual(['running']);
      expect((await docker.getImage(pinned).inspect()).RepoDigests).toContain(pinned);
    } finally {
      for (const c of await containers())
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {});
    }
  });

  // ECR: the fake AWS hands out the auth registry's own credentials, so the engine really logs in with them.
  const ecrRepository = 'dockhand-test/auth-ecr';
  const ecrSetup = () => {
    const clock = new FakeClock(new Date().toISOString());
    const aws = new FakeAws({
      now: () => clock.now(),
      ecr: {
        proxyEndpoint: `https://${auth.address}`,
        username: auth.username,
        password: auth.password,
        tokenTtlSeconds: 12 * 3600,
      },
    });
    return { clock, aws };
  };
  const ecrRegistry = (aws: FakeAws, clock: FakeClock) => {
    const client = new ECRClient({
      endpoint: aws.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret' },
      maxAttempts: 1,
    });
    return createImageRegistry('ecr', { type: 'ecr' }, { docker, clock, ecr: () => client });
  };
  const tagForEcr = async (suffix: string): Promise<{ image: string; tag: string }> => {
    const ecrTag = `${tag}-${suffix}`;
    await docker.getImage(ref).tag({ repo: `${auth.address}/${ecrRepository}`, tag: ecrTag });
    const image = `${auth.address}/${ecrRepository}:${ecrTag}`;
    created.images.push(image);
    return { image, tag: ecrTag };
  };

  it('ECR: pushes with the user and token GetAuthorizationToken returns (fake AWS over HTTP)', async () => {
    const { clock, aws } = ecrSetup();
    await aws.start();
    try {
      const images = ecrRegistry(aws, clock);
      expect(await images.imageName(ecrRepository)).toBe(`${auth.address}/${ecrRepository}`);
      const { image, tag: ecrTag } = await tagForEcr('ecr');
      const { digest } = await images.push({ image });
      expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(await servedDigest(ecrRepository, ecrTag)).toBe(digest);
      expect(await images.auth?.()).toEqual({
        username: auth.username,
        password: auth.password,
        serveraddress: `https://${auth.address}`,
      });
      expect(aws.calls['ECR.GetAuthorizationToken']).toBe(1); // one token for the name, the push and auth()
    } finally {
      await aws.stop();
    }
  });

  it('ECR: renews the token before it expires and pushes with the renewed one', async () => {
    const { clock, aws } = ecrSetup();
    aws.ecrTokenTtlSeconds = 20 * 60;
    await aws.start();
    try {
      const images = ecrRegistry(aws, clock);
      const first = await tagForEcr('renew-1');
      await images.push({ image: first.image });
      expect(aws.calls['ECR.GetAuthorizationToken']).toBe(1);

      // From now on GetAuthorizationToken hands out a token the registry refuses: a push that fetches a new token
      // fails, one that reuses the cached token succeeds.
      aws.ecrPassword = WRONG_PASSWORD;
      clock.advance(20 * 60_000 - ECR_TOKEN_MARGIN_MS - 60_000); // 1 minute before the renewal point
      const second = await tagForEcr('renew-2');
      await images.push({ image: second.image });
      expect(aws.calls['ECR.GetAuthorizationToken']).toBe(1);

      clock.advance(2 * 60_000); // past the renewal point, 4 minutes before the token expires
      const third = await tagForEcr('renew-3');
      const refused = (await images.push({ image: third.image }).catch((e: unknown) => e)) as DockhandError;
      expect(refused).toBeInstanceOf(DockhandError);
      expect(refused.code).toBe('registry');
      expect(refused.message).toContain(`pushing ${third.image} to ECR registry "ecr" failed: `);
      expect(refused.message).toMatch(/unauthorized|authentication required/i);
      // nothing to fix in dockhand.yml for ECR: the hint names the IAM actions a push needs, on this repository
      expect(refused.hint).toBe(
        "dockhand's AWS role needs ecr:BatchCheckLayerAvailability, ecr:InitiateLayerUpload, ecr:UploadLayerPart, " +
          `ecr:CompleteLayerUpload and ecr:PutImage on ${ecrRepository}; the next try fetches a new login token.`,
      );
      expect(JSON.stringify([refused.message, refused.hint])).not.toContain(WRONG_PASSWORD);
      expect(aws.calls['ECR.GetAuthorizationToken']).toBe(2);
      expect(await servedDigest(ecrRepository, third.tag)).toBeNull();

      // A refused token is not reused: the next push asks again, and the good token works at once.
      aws.ecrPassword = auth.password;
      const { digest } = await images.push({ image: third.image });
      expect(aws.calls['ECR.GetAuthorizationToken']).toBe(3);
      expect(await servedDigest(ecrRepository, third.tag)).toBe(digest);
    } finally {
      await aws.stop();
    }
  });
});
