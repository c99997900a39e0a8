import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AwsCallEvent,
  type AwsClients,
  callCounterMiddleware,
  createAwsClients,
} from '../../src/adapters/aws/clients.ts';

/** A tiny ECS endpoint on 127.0.0.1 that answers each request with the next scripted response. */
const scripted = async (responses: ((req: IncomingMessage, res: ServerResponse) => void)[]) => {
  const seen: { target: string | undefined; attemptHeader: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({
        target: req.headers['x-amz-target'] as string | undefined,
        attemptHeader: req.headers['amz-sdk-request'] as string | undefined,
      });
      const respond = responses[Math.min(seen.length - 1, responses.length - 1)];
      respond?.(req, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => server.close(r)) };
};

const json = (status: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'req-1' });
  res.end(JSON.stringify(body));
};

const throttled = json(400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
const ok = json(200, {
  services: [],
  failures: [{ arn: 'arn:aws:ecs:us-east-1:1:service/prod/api', reason: 'MISSING' }],
});

describe('createAwsClients', () => {
  let clients: AwsClients | undefined;
  let close: (() => Promise<unknown>) | undefined;

  beforeEach(() => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  });

  afterEach(async () => {
    clients?.destroy();
    await close?.();
    vi.unstubAllEnvs();
  });

  it('reports every attempt of a throttled call that then succeeds, with the operation name', async () => {
    const server = await scripted([throttled, throttled, ok]);
    close = server.close;
    const events: AwsCallEvent[] = [];
    clients = createAwsClients({ region: 'us-east-1', endpoint: server.endpoint, onCall: (e) => events.push(e) });

    const out = await clients.forRegion().ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['api'] }));

    expect(out.failures?.[0]?.reason).toBe('MISSING');
    expect(server.seen.map((s) => s.target)).toEqual(
      Array(3).fill('AmazonEC2ContainerServiceV20141113.DescribeServices'),
    );
    expect(events.map(({ durationMs: _, ...e }) => e)).toEqual([
      { service: 'ECS', operation: 'DescribeServices', attempt: 1, ok: false, errorName: 'ThrottlingException' },
      { service: 'ECS', operation: 'DescribeServices', attempt: 2, ok: false, errorName: 'ThrottlingException' },
      { service: 'ECS', operation: 'DescribeServices', attempt: 3, ok: true },
    ]);
    expect(events.every((e) => e.durationMs >= 0)).toBe(true);
  });

  it('gives up after maxAttempts and lets the throttling error through', async () => {
    const server = await scripted([throttled]);
    close = server.close;
    const events: AwsCallEvent[] = [];
    clients = createAwsClients({
      region: 'us-east-1',
      endpoint: server.endpoint,
      maxAttempts: 2,
      onCall: (e) => events.push(e),
    });

    const error = await clients
      .forRegion()
      .ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['api'] }))
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 2 } });
    expect(events.map((e) => [e.attempt, e.ok])).toEqual([
      [1, false],
      [2, false],
    ]);
  });

  it('times out a request that never answers', async () => {
    const server = await scripted([() => {}]);
    close = server.close;
    clients = createAwsClients({
      region: 'us-east-1',
      endpoint: server.endpoint,
      maxAttempts: 1,
      requestTimeoutMs: 200,
    });

    const error = await clients
      .forRegion()
      .ecs.send(new DescribeServicesCommand({ cluster: 'prod', services: ['api'] }))
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ name: 'TimeoutError' });
  });

  it("copies no response for the SDK's log line: no client keeps its logger middleware", () => {
    // That middleware deep-copies every response through its schema to mask sensitive fields for a log line, even
    // when no logger is configured: at 1,000 services a watch tick allocated over 50 MiB for it alone.
    clients = createAwsClients({ region: 'us-east-1', onCall: () => {} });
    const set = clients.forRegion();
    // EC2 is dockhand's own query client (ec2-query.ts), with no SDK middleware stack.
    for (const client of [set.ecs, set.ecr, set.logs]) {
      const stack = client.middlewareStack.identify();
      expect(stack.some((entry) => entry.startsWith('dockhandCallCounter'))).toBe(true);
      expect(stack.filter((entry) => entry.startsWith('loggerMiddleware'))).toEqual([]);
    }
  });

  it('creates one set of clients per region, lazily, and reuses it', () => {
    clients = createAwsClients({ region: 'us-east-1' });

    const here = clients.forRegion();
    expect(clients.forRegion('us-east-1')).toBe(here);
    expect(here.ecs).toBe(here.ecs);
    const there = clients.forRegion('eu-west-1');
    expect(there).not.toBe(here);
    expect(there.region).toBe('eu-west-1');
  });
});

describe('callCounterMiddleware', () => {
  it('reports a failed attempt with the error name and rethrows it', async () => {
    const events: AwsCallEvent[] = [];
    let t = 100;
    const middleware = callCounterMiddleware(
      'EC2',
      (e) => events.push(e),
      () => t,
    );
    const denied = Object.assign(new Error('nope'), { name: 'UnauthorizedOperation' });
    const handler = middleware(
      async () => {
        t += 42;
        throw denied;
      },
      { commandName: 'DescribeNetworkInterfacesCommand' },
    );

    await expect(handler({ input: {}, request: { headers: { 'amz-sdk-request': 'attempt=3; max=5' } } })).rejects.toBe(
      denied,
    );
    expect(events).toEqual([
      {
        service: 'EC2',
        operation: 'DescribeNetworkInterfaces',
        attempt: 3,
        ok: false,
        errorName: 'UnauthorizedOperation',
        durationMs: 42,
      },
    ]);
  });

  it('never lets a failing metrics hook fail the call', async () => {
    const middleware = callCounterMiddleware('ECS', () => {
      throw new Error('metrics broke');
    });
    const handler = middleware(async () => ({ output: { $metadata: {} }, response: {} }), {
      commandName: 'ListTasksCommand',
    });

    await expect(handler({ input: {}, request: {} })).resolves.toMatchObject({ output: { $metadata: {} } });
  });
});
