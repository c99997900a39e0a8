// ImageRegistry without an engine: ECR token caching (aws-sdk-client-mock + a fake clock), push streams from a fake
// dockerode (error lines inside a 200 response, missing digest, progress), and the plain registry's tag look-up over
// a fake fetch (basic auth, Bearer challenge, errors that name the address but never the credentials).
import { Readable } from 'node:stream';
import {
  DescribeImagesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  ImageNotFoundException,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import type Docker from 'dockerode';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { engineErrorMessage, readEngineStream, splitImageRef } from '../../src/adapters/docker/json-stream.ts';
import { createImageRegistry, PushProgress } from '../../src/adapters/docker/registries.ts';
import { AwsError, DockhandError } from '../../src/errors.ts';
import type { Clock } from '../../src/ports.ts';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const HOST = '123456789012.dkr.ecr.us-east-1.amazonaws.com';

const okPush = (tag: string): object[] => [
  { status: `The push refers to repository [${HOST}/acme/api]` },
  { status: 'Preparing', progressDetail: {}, id: 'l1' },
  { status: 'Preparing', progressDetail: {}, id: 'l2' },
  { status: 'Pushing', progressDetail: { current: 500, total: 1000 }, id: 'l1' },
  { status: 'Layer already exists', progressDetail: {}, id: 'l2' },
  { status: 'Pushing', progressDetail: { current: 1000, total: 1000 }, id: 'l1' },
  { status: 'Pushed', progressDetail: {}, id: 'l1' },
  { status: `${tag}: digest: ${DIGEST} size: 739` },
  { progressDetail: {}, aux: { Tag: tag, Digest: DIGEST, Size: 739 } },
];

class FakeDocker {
  readonly pushes: { name: string; opts: Record<string, unknown> }[] = [];
  lines: (tag: string) => object[] = okPush;

  getImage(name: string) {
    return {
      push: async (opts: Record<string, unknown>) => {
        this.pushes.push({ name, opts });
        const body = this.lines(String(opts.tag)).map((l) => `${JSON.stringify(l)}\r\n`);
        // split one line across chunks, as sockets do
        const text = body.join('');
        return Readable.from([text.slice(0, 37), text.slice(37)]);
      },
    };
  }
}

class FakeClock implements Clock {
  t = Date.parse('2026-01-01T00:00:00Z');
  now = () => new Date(this.t);
  sleep = async () => {};
}

describe('ECR registry', () => {
  const ecrMock = mockClient(ECRClient);
  let clock: FakeClock;
  let docker: FakeDocker;
  let tokens: number;
  const regions: (string | undefined)[] = [];

  const registry = (registryId?: string) =>
    createImageRegistry(
      'ecr',
      { type: 'ecr', region: 'eu-west-1', ...(registryId ? { registryId } : {}) },
      {
        docker: docker as unknown as Docker,
        clock,
        ecr: (region) => {
          regions.push(region);
          return new ECRClient({ region: region ?? 'us-east-1' });
        },
      },
    );

  beforeEach(() => {
    ecrMock.reset();
    clock = new FakeClock();
    docker = new FakeDocker();
    tokens = 0;
    regions.length = 0;
    ecrMock.on(GetAuthorizationTokenCommand).callsFake(async () => {
      tokens += 1;
      return {
        authorizationData: [
          {
            authorizationToken: Buffer.from(`AWS:password-${tokens}`).toString('base64'),
            proxyEndpoint: `https://${HOST}`,
            expiresAt: new Date(clock.t + 12 * 3_600_000),
          },
        ],
      };
    });
  });

  afterEach(() => ecrMock.reset());

  it('names images after the token’s proxy endpoint', async () => {
    const ecr = registry();
    expect(await ecr.imageName('acme/api')).toBe(`${HOST}/acme/api`);
    expect(await ecr.imageName('acme/web')).toBe(`${HOST}/acme/web`);
    expect(tokens).toBe(1);
    expect(regions).toEqual(['eu-west-1']);
  });

  it('caches the login token until 5 minutes before it expires', async () => {
    const ecr = registry();
    const image = `${HOST}/acme/api:abc1234`;
    expect((await ecr.push({ image })).digest).toBe(DIGEST);
    expect(docker.pushes[0]).toEqual({
      name: `${HOST}/acme/api`,
      opts: {
        tag: 'abc1234',
        authconfig: { username: 'AWS', password: 'password-1', serveraddress: `https://${HOST}` },
      },
    });

    clock.t += 11 * 3_600_000; // within expiry (12 h) minus the margin
    await ecr.push({ image });
    expect(tokens).toBe(1);
    expect(ecrMock.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(1);

    clock.t += 56 * 60_000; // 4 minutes before expiry: renewed
    await ecr.push({ image });
    expect(tokens).toBe(2);
    expect(docker.pushes[2]?.opts.authconfig).toEqual({
      username: 'AWS',
      password: 'password-2',
      serveraddress: `https://${HOST}`,
    });
  });

  it('asks for one token when pushes start together', async () => {
    const ecr = registry();
    await Promise.all([1, 2, 3].map((n) => ecr.push({ image: `${HOST}/acme/api:t${n}` })));
    expect(tokens).toBe(1);
  });

  it('passes the registry id and wraps AWS errors', async () => {
    const ecr = registry('123456789012');
    await ecr.imageName('acme/api');
    expect(ecrMock.commandCalls(GetAuthorizationTokenCommand)[0]?.args[0].input).toEqual({
      registryIds: ['123456789012'],
    });
    ecrMock
      .on(GetAuthorizationTokenCommand)
      .rejects(Object.assign(new Error('not allowed'), { name: 'AccessDeniedException' }));
    const denied = await registry()
      .push({ image: `${HOST}/acme/api:x` })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AwsError);
    expect((denied as AwsError).awsCode).toBe('AccessDeniedException');
    expect((denied as AwsError).message).toContain('getting an ECR login token');
  });

  it('resolves tags with DescribeImages; a missing image is undefined', async () => {
    const ecr = registry('123456789012');
    ecrMock.on(DescribeImagesCommand, { imageIds: [{ imageTag: 'v1' }] }).resolves({
      imageDetails: [{ imageDigest: DIGEST, imageTags: ['v1'] }],
    });
    ecrMock
      .on(DescribeImagesCommand, { imageIds: [{ imageTag: 'gone' }] })
      .rejects(new ImageNotFoundException({ message: 'not found', $metadata: {} }));
    ecrMock
      .on(DescribeImagesCommand, { repositoryName: 'acme/nope' })
      .rejects(new RepositoryNotFoundException({ message: 'no repo', $metadata: {} }));
    expect(await ecr.resolveTag('acme/api', 'v1')).toBe(DIGEST);
    expect(ecrMock.commandCalls(DescribeImagesCommand)[0]?.args[0].input).toEqual({
      repositoryName: 'acme/api',
      imageIds: [{ imageTag: 'v1' }],
      registryId: '123456789012',
    });
    expect(await ecr.resolveTag('acme/api', 'gone')).toBeUndefined();
    const error = await ecr.resolveTag('acme/nope', 'v1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsError);
    expect((error as AwsError).hint).toMatch(/Create the ECR repository acme\/nope/);
    expect(tokens).toBe(0); // look-ups need no login
  });

  it('drops a token the registry refused', async () => {
    const ecr = registry();
    docker.lines = () => [{ errorDetail: { message: 'denied: Your authorization token has expired.' } }];
    const error = (await ecr.push({ image: `${HOST}/acme/api:x` }).catch((e: unknown) => e)) as DockhandError;
    expect(error.code).toBe('registry');
    expect(error.hint).toMatch(/ecr:PutImage on acme\/api; the next try fetches a new login token\.$/);
    docker.lines = okPush;
    await ecr.push({ image: `${HOST}/acme/api:x` });
    expect(tokens).toBe(2);
  });
});

describe('push streams', () => {
  const plain = (docker: FakeDocker, extra: { username?: string; password?: string } = {}) =>
    createImageRegistry(
      'inhouse',
      { type: 'registry', address: 'registry.internal:5000', insecure: true, ...extra },
      { docker: docker as unknown as Docker, clock: new FakeClock() },
    );

  it('reports progress on change only, ending at 100', async () => {
    const docker = new FakeDocker();
    const progress: number[] = [];
    const { digest } = await plain(docker).push({
      image: 'registry.internal:5000/web:1',
      onProgress: (p) => progress.push(p),
    });
    expect(digest).toBe(DIGEST);
    expect(progress).toEqual([0, 25, 75, 99, 100]); // l2 "already exists" weighs like l1
    expect(docker.pushes[0]?.opts).toEqual({ tag: '1', authconfig: { serveraddress: 'registry.internal:5000' } });
  });

  it('sends the configured credentials', async () => {
    const docker = new FakeDocker();
    await plain(docker, { username: 'ci', password: 'pw' }).push({ image: 'registry.internal:5000/web:1' });
    expect(docker.pushes[0]?.opts.authconfig).toEqual({
      username: 'ci',
      password: 'pw',
      serveraddress: 'registry.internal:5000',
    });
  });

  it('fails on an error line although the engine answered 200', async () => {
    const docker = new FakeDocker();
    docker.lines = (tag) => [
      ...okPush(tag).slice(0, 4),
      { errorDetail: { message: 'blob upload unknown' }, error: 'blob upload unknown' },
    ];
    const error = (await plain(docker)
      .push({ image: 'registry.internal:5000/web:1' })
      .catch((e: unknown) => e)) as DockhandError;
    expect(error).toBeInstanceOf(DockhandError);
    expect(error.code).toBe('registry');
    expect(error.message).toBe(
      'pushing registry.internal:5000/web:1 to registry "inhouse" (registry.internal:5000) failed: blob upload unknown',
    );
  });

  it('fails when the stream ends without a digest', async () => {
    const docker = new FakeDocker();
    docker.lines = (tag) => okPush(tag).slice(0, 7);
    const error = (await plain(docker)
      .push({ image: 'registry.internal:5000/web:1' })
      .catch((e: unknown) => e)) as DockhandError;
    expect(error.message).toMatch(/push ended without a digest$/);
  });

  it('takes the digest from the status line when there is no aux line', async () => {
    const docker = new FakeDocker();
    docker.lines = (tag) => okPush(tag).slice(0, 8);
    expect((await plain(docker).push({ image: 'registry.internal:5000/web:1' })).digest).toBe(DIGEST);
  });

  it('refuses an image without a tag', async () => {
    const error = await plain(new FakeDocker())
      .push({ image: 'registry.internal:5000/web' })
      .catch((e: unknown) => e);
    expect((error as DockhandError).code).toBe('invalid');
  });

  it('PushProgress weighs layers of unknown size like the average known one', () => {
    const seen: number[] = [];
    const p = new PushProgress((n) => seen.push(n));
    p.handle({ status: 'Preparing', id: 'a' });
    p.handle({ status: 'Preparing', id: 'b' });
    p.handle({ status: 'Pushing', id: 'a', progressDetail: { current: 30, total: 100 } });
    expect(p.percent()).toBe(15);
    p.handle({ status: 'Pushed', id: 'a' });
    p.handle({ status: 'Mounted from other/repo', id: 'b' });
    expect(seen).toEqual([0, 15, 50, 99]);
  });
});

describe('json stream helpers', () => {
  it("keeps the engine's words when docker-modem leaves json null (streaming endpoints such as pull)", () => {
    // the shape docker-modem gave for a pull the registry refused (engine 20.10, wrong password)
    const refused = Object.assign(new Error('(HTTP code 500) server error - unauthorized: authentication required '), {
      reason: 'server error',
      statusCode: 500,
      json: null,
    });
    expect(engineErrorMessage(refused)).toBe('unauthorized: authentication required');
    const parsed = Object.assign(new Error('(HTTP code 404) no such image - ignored'), {
      reason: 'no such image',
      statusCode: 404,
      json: { message: 'No such image: x:1' },
    });
    expect(engineErrorMessage(parsed)).toBe('No such image: x:1');
    const bare = Object.assign(new Error('(HTTP code 502) unexpected'), { reason: 'unexpected', statusCode: 502 });
    expect(engineErrorMessage(bare)).toBe('502 unexpected');
  });

  it('splits image references', () => {
    expect(splitImageRef('127.0.0.1:5000/acme/api:v1')).toEqual({ name: '127.0.0.1:5000/acme/api', tag: 'v1' });
    expect(splitImageRef('127.0.0.1:5000/acme/api')).toEqual({ name: '127.0.0.1:5000/acme/api', tag: undefined });
    expect(splitImageRef(`acme/api@${DIGEST}`)).toEqual({ name: 'acme/api', tag: undefined });
  });

  it('passes non-JSON lines on as text and stops on abort', async () => {
    const events: object[] = [];
    await readEngineStream(Readable.from(['{"status":"a"}\nnot json\n{"status":"b"}']), (e) => events.push(e));
    expect(events).toEqual([{ status: 'a' }, { stream: 'not json\n' }, { status: 'b' }]);

    const controller = new AbortController();
    const endless = new Readable({ read() {} });
    const reading = readEngineStream(endless, () => {}, controller.signal);
    endless.push('{"status":"x"}\n');
    controller.abort(new Error('stop'));
    await expect(reading).rejects.toThrow('stop');
    expect(endless.destroyed).toBe(true);
  });
});

describe('plain registry tag look-ups', () => {
  type Call = { url: string; headers: Record<string, string> };
  const fakeFetch = (answer: (call: Call) => Response) => {
    const calls: Call[] = [];
    const fn = (async (input: string | URL | Request, init?: RequestInit) => {
      const call = { url: String(input), headers: (init?.headers ?? {}) as Record<string, string> };
      calls.push(call);
      return answer(call);
    }) as typeof fetch;
    return { fn, calls };
  };
  const registry = (f: typeof fetch, extra: object = {}) =>
    createImageRegistry(
      'hub',
      { type: 'registry', address: 'registry.example.com', insecure: false, ...extra },
      { docker: {} as Docker, clock: new FakeClock(), fetch: f },
    );

  it('asks for every manifest kind with basic auth and reads Docker-Content-Digest', async () => {
    const { fn, calls } = fakeFetch(
      () => new Response('{}', { status: 200, headers: { 'Docker-Content-Digest': DIGEST } }),
    );
    expect(await registry(fn, { username: 'u', password: 'p' }).resolveTag('acme/api', 'v1')).toBe(DIGEST);
    expect(calls[0]?.url).toBe('https://registry.example.com/v2/acme/api/manifests/v1');
    expect(calls[0]?.headers.Authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(calls[0]?.headers.Accept).toContain('application/vnd.oci.image.index.v1+json');
    expect(calls[0]?.headers.Accept).toContain('application/vnd.docker.distribution.manifest.list.v2+json');
  });

  it('answers a Bearer challenge with a token from its realm', async () => {
    const { fn, calls } = fakeFetch((call) => {
      if (call.url.startsWith('https://auth.example.com/token')) return Response.json({ token: 'tok123' });
      if (call.headers.Authorization === 'Bearer tok123')
        return new Response(null, { status: 200, headers: { 'Docker-Content-Digest': DIGEST } });
      return new Response(null, {
        status: 401,
        headers: {
          'WWW-Authenticate':
            'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:acme/api:pull"',
        },
      });
    });
    expect(await registry(fn).resolveTag('acme/api', 'v1')).toBe(DIGEST);
    expect(calls[1]?.url).toBe(
      'https://auth.example.com/token?service=registry.example.com&scope=repository%3Aacme%2Fapi%3Apull',
    );
  });

  it('returns undefined for 404 and names address and status otherwise, never the password', async () => {
    expect(
      await registry(fakeFetch(() => new Response(null, { status: 404 })).fn).resolveTag('a/b', 'x'),
    ).toBeUndefined();
    const error = (await registry(fakeFetch(() => new Response(null, { status: 503 })).fn, {
      username: 'u',
      password: 'sekrit',
    })
      .resolveTag('a/b', 'x')
      .catch((e: unknown) => e)) as DockhandError;
    expect(error.code).toBe('registry');
    expect(error.message).toBe('registry "hub" (registry.example.com) answered HTTP 503 for a/b:x');
    expect(JSON.stringify(error)).not.toContain('sekrit');
    const invalid = await registry(fakeFetch(() => new Response(null, { status: 404 })).fn)
      .resolveTag('../etc', 'x')
      .catch((e: unknown) => e);
    expect((invalid as DockhandError).code).toBe('invalid');
  });

  it('says a 403 denied the configured user (a 401 is covered against a real registry), never the password', async () => {
    const error = (await registry(fakeFetch(() => new Response(null, { status: 403 })).fn, {
      username: 'u',
      password: 'sekrit',
    })
      .resolveTag('a/b', 'x')
      .catch((e: unknown) => e)) as DockhandError;
    expect(error.message).toBe(
      'registry "hub" (registry.example.com) denied the configured user access (HTTP 403) to a/b:x',
    );
    expect(error.hint).toBe('Check the credentials configured for registry.example.com.');
    expect(JSON.stringify([error.message, error.hint])).not.toContain('sekrit');
  });
});
