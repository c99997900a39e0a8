import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AwsCallEvent, type AwsClients, createAwsClients } from '../../src/adapters/aws/clients.ts';
import { Ec2QueryClient, Ec2ServiceError } from '../../src/adapters/aws/ec2-query.ts';
import { PublicIpResolver } from '../../src/adapters/aws/public-ips.ts';
import { AwsError } from '../../src/errors.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

const ENI_A = 'eni-0aaa11112222333';
const ENI_B = 'eni-0bbb11112222333';

const addEni = (fake: FakeAws, id: string, publicIp?: string) =>
  fake.enis.set(id, {
    id,
    privateIp: '10.0.0.1',
    ...(publicIp === undefined ? {} : { publicIp }),
    subnetId: 'subnet-0abc',
    securityGroups: ['sg-0abc'],
    macAddress: '02:00:00:00:00:01',
    taskArn: `task-with-${id}`,
    attachmentId: `att-${id}`,
    createdAt: new Date(0),
    deleted: false,
  });

interface Seen {
  headers: IncomingMessage['headers'];
  body: string;
}

/** A tiny EC2 endpoint on 127.0.0.1 that answers each request with the next scripted XML. */
const scripted = async (answers: { status: number; xml: string }[]) => {
  const seen: Seen[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const answer = answers[Math.min(seen.length - 1, answers.length - 1)];
      res.writeHead(answer?.status ?? 500, { 'content-type': 'text/xml;charset=UTF-8' });
      res.end(answer?.xml ?? '');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, port, seen, close: () => new Promise((r) => server.close(r)) };
};

const page = (items: [string, string | null][], nextToken?: string) =>
  '<?xml version="1.0" encoding="UTF-8"?>\n' +
  '<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId>' +
  `<networkInterfaceSet>${items
    .map(
      ([id, ip]) =>
        `<item><networkInterfaceId>${id}</networkInterfaceId>${ip ? `<association><publicIp>${ip}</publicIp></association>` : ''}` +
        '<privateIpAddressesSet><item><privateIpAddress>10.0.0.9</privateIpAddress></item></privateIpAddressesSet></item>',
    )
    .join('')}</networkInterfaceSet>${nextToken ? `<nextToken>${nextToken}</nextToken>` : ''}` +
  '</DescribeNetworkInterfacesResponse>';

describe('Ec2QueryClient (DescribeNetworkInterfaces without @aws-sdk/client-ec2)', () => {
  let fake: FakeAws;
  let clients: AwsClients;
  let events: AwsCallEvent[];
  let url: string;

  beforeEach(async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
    fake = new FakeAws();
    url = (await fake.start()).url;
    events = [];
    clients = createAwsClients({ region: 'us-east-1', endpoint: url, onCall: (e) => events.push(e) });
  });

  afterEach(async () => {
    clients.destroy();
    await fake.stop();
    vi.unstubAllEnvs();
  });

  it('reads public IPs from the fake AWS over HTTP, null for an ENI in a private subnet', async () => {
    addEni(fake, ENI_A, '203.0.113.7');
    addEni(fake, ENI_B);

    const enis = await clients.forRegion().ec2.describeNetworkInterfaces([ENI_A, ENI_B]);

    expect(enis).toEqual([
      { networkInterfaceId: ENI_A, publicIp: '203.0.113.7' },
      { networkInterfaceId: ENI_B, publicIp: null },
    ]);
    expect(fake.requestsFor('EC2.DescribeNetworkInterfaces').map((r) => r.input)).toEqual([
      { NetworkInterfaceId: [ENI_A, ENI_B] },
    ]);
    expect(events.map(({ durationMs: _, ...e }) => e)).toEqual([
      { service: 'EC2', operation: 'DescribeNetworkInterfaces', attempt: 1, ok: true },
    ]);
  });

  it('retries throttling like the SDK standard mode and reports every attempt', async () => {
    addEni(fake, ENI_A, '203.0.113.7');
    fake.faults({ failNext: { op: 'DescribeNetworkInterfaces', count: 1 } });

    const enis = await clients.forRegion().ec2.describeNetworkInterfaces([ENI_A]);

    expect(enis).toEqual([{ networkInterfaceId: ENI_A, publicIp: '203.0.113.7' }]);
    expect(fake.calls['EC2.DescribeNetworkInterfaces']).toBe(2);
    expect(events.map(({ durationMs: _, ...e }) => e)).toEqual([
      {
        service: 'EC2',
        operation: 'DescribeNetworkInterfaces',
        attempt: 1,
        ok: false,
        errorName: 'RequestLimitExceeded',
      },
      { service: 'EC2', operation: 'DescribeNetworkInterfaces', attempt: 2, ok: true },
    ]);
  });

  it('gives up after maxAttempts and throws the EC2 error code, which AwsError turns into a throttling hint', async () => {
    clients.destroy();
    clients = createAwsClients({ region: 'us-east-1', endpoint: url, maxAttempts: 2, onCall: (e) => events.push(e) });
    addEni(fake, ENI_A, '203.0.113.7');
    fake.faults({ failNext: { op: 'DescribeNetworkInterfaces', count: 5 } });

    const error = await clients
      .forRegion()
      .ec2.describeNetworkInterfaces([ENI_A])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Ec2ServiceError);
    expect(error).toMatchObject({ name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
    expect(fake.calls['EC2.DescribeNetworkInterfaces']).toBe(2);
    expect(new AwsError('look up public IPs', error).hint).toMatch(/throttling/);
  });

  it('does not retry a client error, and names it after its code', async () => {
    addEni(fake, ENI_A, '203.0.113.7');

    const error = await clients
      .forRegion()
      .ec2.describeNetworkInterfaces([ENI_A, ENI_B])
      .catch((e: unknown) => e);

    expect(error).toMatchObject({
      name: 'InvalidNetworkInterfaceID.NotFound',
      message: `The networkInterface ID '${ENI_B}' does not exist`,
    });
    expect(fake.calls['EC2.DescribeNetworkInterfaces']).toBe(1);
  });

  it('lets PublicIpResolver drop ENIs that EC2 no longer knows and keep the rest', async () => {
    addEni(fake, ENI_A, '203.0.113.7');
    const resolver = new PublicIpResolver((region) => clients.forRegion(region).ec2);
    const scope = { cluster: 'us-east-1/prod', service: 'api' };

    const ips = await resolver.resolve(
      undefined,
      [
        { taskArn: 'task-a', eniId: ENI_A, scope },
        { taskArn: 'task-b', eniId: ENI_B, scope },
      ],
      'tasks in cluster prod',
    );

    expect(ips).toEqual(new Map([['task-a', '203.0.113.7']]));
    expect(fake.requestsFor('EC2.DescribeNetworkInterfaces').map((r) => r.input.NetworkInterfaceId)).toEqual([
      [ENI_A, ENI_B],
      [ENI_A],
    ]);
  });
});

describe('Ec2QueryClient on the wire', () => {
  let close: (() => Promise<unknown>) | undefined;
  let client: Ec2QueryClient | undefined;

  afterEach(async () => {
    client?.destroy();
    await close?.();
  });

  const clientFor = (endpoint: string, region = 'eu-west-1') =>
    new Ec2QueryClient({
      region,
      endpoint,
      maxAttempts: 3,
      requestTimeoutMs: 5_000,
      connectionTimeoutMs: 1_000,
      credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
    });

  it('follows nextToken across pages', async () => {
    const server = await scripted([
      { status: 200, xml: page([[ENI_A, '203.0.113.7']], 'tok-2') },
      { status: 200, xml: page([[ENI_B, null]]) },
    ]);
    close = server.close;
    client = clientFor(server.endpoint);

    const enis = await client.describeNetworkInterfaces([ENI_A, ENI_B]);

    expect(enis).toEqual([
      { networkInterfaceId: ENI_A, publicIp: '203.0.113.7' },
      { networkInterfaceId: ENI_B, publicIp: null },
    ]);
    const bodies = server.seen.map((s) => Object.fromEntries(new URLSearchParams(s.body)));
    expect(bodies).toEqual([
      {
        Action: 'DescribeNetworkInterfaces',
        Version: '2016-11-15',
        'NetworkInterfaceId.1': ENI_A,
        'NetworkInterfaceId.2': ENI_B,
      },
      {
        Action: 'DescribeNetworkInterfaces',
        Version: '2016-11-15',
        'NetworkInterfaceId.1': ENI_A,
        'NetworkInterfaceId.2': ENI_B,
        NextToken: 'tok-2',
      },
    ]);
  });

  it('signs each request with SigV4 for ec2 in its region (a signature this test recomputes)', async () => {
    const server = await scripted([{ status: 200, xml: page([]) }]);
    close = server.close;
    client = clientFor(server.endpoint, 'ap-southeast-2');

    await client.describeNetworkInterfaces([ENI_A]);

    const [seen] = server.seen;
    const authorization = String(seen?.headers.authorization);
    expect(authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/ap-southeast-2\/ec2\/aws4_request, SignedHeaders=[^ ]*host[^ ]*, Signature=[0-9a-f]{64}$/,
    );
    const signedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';') ?? [];
    const amzDate = String(seen?.headers['x-amz-date']);
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const { createHash, createHmac } = await import('node:crypto');
    class Sha256 {
      #h;
      constructor(secret?: SourceData) {
        this.#h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret as string | Uint8Array);
      }
      update(d: string | Uint8Array) {
        this.#h.update(d);
      }
      async digest() {
        return new Uint8Array(this.#h.digest());
      }
      reset() {}
    }
    const expected = await new SignatureV4({
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      region: 'ap-southeast-2',
      service: 'ec2',
      sha256: Sha256,
    }).sign(
      new HttpRequest({
        method: 'POST',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: server.port,
        path: '/',
        headers: Object.fromEntries(signedHeaders.map((h) => [h, String(seen?.headers[h])])),
        body: seen?.body,
      }),
      { signingDate },
    );
    expect(authorization).toBe(expected.headers.authorization);
  });

  it('turns an EC2 XML error into an Ec2ServiceError with its code, message and request id', async () => {
    const server = await scripted([
      {
        status: 403,
        xml:
          '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code>' +
          '<Message>You are not authorized to perform this operation.</Message></Error></Errors>' +
          '<RequestID>req-42</RequestID></Response>',
      },
    ]);
    close = server.close;
    client = clientFor(server.endpoint);

    const error = await client.describeNetworkInterfaces([ENI_A]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Ec2ServiceError);
    expect(error).toMatchObject({
      name: 'UnauthorizedOperation',
      message: 'You are not authorized to perform this operation.',
      $metadata: { httpStatusCode: 403, requestId: 'req-42' },
    });
    expect(new AwsError('look up public IPs', error).hint).toMatch(/IAM/);
    expect(server.seen).toHaveLength(1);
  });

  it('retries a 5xx answer that is not XML, then succeeds', async () => {
    const server = await scripted([
      { status: 502, xml: 'Bad Gateway' },
      { status: 200, xml: page([[ENI_A, '203.0.113.9']]) },
    ]);
    close = server.close;
    client = clientFor(server.endpoint);

    const enis = await client.describeNetworkInterfaces([ENI_A]);

    expect(enis).toEqual([{ networkInterfaceId: ENI_A, publicIp: '203.0.113.9' }]);
    expect(server.seen.map((s) => s.headers['amz-sdk-request'])).toEqual(['attempt=1; max=3', 'attempt=2; max=3']);
  });
});
