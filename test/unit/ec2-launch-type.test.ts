/**
 * The EC2 launch type's pieces on their own: a bridge/host task's mapping (container instance, host ports), the
 * address it is shown at, and the EC2 client's DescribeInstances over a scripted HTTP endpoint (paging, errors).
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Task } from '@aws-sdk/client-ecs';
import { afterEach, describe, expect, it } from 'vitest';
import { Ec2QueryClient } from '../../src/adapters/aws/ec2-query.ts';
import { toTaskSnapshot } from '../../src/adapters/aws/ecs-reader.ts';
import { taskAddress } from '../../src/core/task-address.ts';
import { errorName } from '../../src/errors.ts';

const CI = 'arn:aws:ecs:us-east-1:123456789012:container-instance/prod/0123456789abcdef0123456789abcdef';

const bridgeTask = (bindings: number[][]): Task => ({
  taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/prod/abc123',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/worker:7',
  launchType: 'EC2',
  containerInstanceArn: CI,
  lastStatus: 'RUNNING',
  desiredStatus: 'RUNNING',
  attachments: [],
  containers: bindings.map((ports, i) => ({
    name: `c${i}`,
    networkBindings: ports.map((hostPort) => ({ bindIP: '0.0.0.0', containerPort: 8080, hostPort, protocol: 'tcp' })),
    networkInterfaces: [],
  })),
});

describe('a task on the EC2 launch type', () => {
  it('keeps its container instance and the host ports of every container, ascending and once each', () => {
    const t = toTaskSnapshot(bridgeTask([[32769, 32768], [32768], [8443]]));
    expect(t.containerInstanceArn).toBe(CI);
    expect(t.hostPorts).toEqual([8443, 32768, 32769]);
    expect(t.eniId).toBeUndefined();
  });

  it('has no host ports while its containers are not bound yet', () => {
    const t = toTaskSnapshot(bridgeTask([[]]));
    expect(t.hostPorts).toBeUndefined();
    expect(t.containerInstanceArn).toBe(CI);
  });

  it('takes neither from a task with an ENI (awsvpc on EC2 or Fargate): its IP is the ENI’s', () => {
    const t = toTaskSnapshot({
      ...bridgeTask([[8080]]),
      attachments: [{ type: 'ElasticNetworkInterface', details: [{ name: 'networkInterfaceId', value: 'eni-0abc' }] }],
    });
    expect(t.eniId).toBe('eni-0abc');
    expect(t.containerInstanceArn).toBeUndefined();
    expect(t.hostPorts).toBeUndefined();
  });

  it('is shown at ip:port, ip:port,port with several, the bare IP without ports, and nowhere without an IP', () => {
    expect(taskAddress({ publicIp: '203.0.113.7', hostPorts: [32768] })).toBe('203.0.113.7:32768');
    expect(taskAddress({ publicIp: '203.0.113.7', hostPorts: [80, 443] })).toBe('203.0.113.7:80,443');
    expect(taskAddress({ publicIp: '203.0.113.7' })).toBe('203.0.113.7');
    expect(taskAddress({ hostPorts: [80] })).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------

let close: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

const scripted = async (answers: { status: number; xml: string }[]) => {
  const bodies: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      const answer = answers[Math.min(bodies.length - 1, answers.length - 1)];
      res.writeHead(answer?.status ?? 500, { 'content-type': 'text/xml;charset=UTF-8' });
      res.end(answer?.xml ?? '');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  close = () => new Promise((r) => server.close(r));
  const { port } = server.address() as AddressInfo;
  const client = new Ec2QueryClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    maxAttempts: 1,
    requestTimeoutMs: 2_000,
    connectionTimeoutMs: 2_000,
    credentials: async () => ({ accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' }),
  });
  return { client, bodies };
};

const instance = (id: string, ip: string | null, privateIp: string) =>
  `<item><instanceId>${id}</instanceId><privateIpAddress>${privateIp}</privateIpAddress>${ip ? `<ipAddress>${ip}</ipAddress>` : ''}</item>`;

const page = (reservations: string[][], nextToken?: string) =>
  '<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' +
  `<requestId>r-1</requestId><reservationSet>${reservations
    .map((items) => `<item><reservationId>r-0a</reservationId><instancesSet>${items.join('')}</instancesSet></item>`)
    .join('')}</reservationSet>${nextToken ? `<nextToken>${nextToken}</nextToken>` : ''}</DescribeInstancesResponse>`;

describe('EC2 DescribeInstances over the query protocol', () => {
  it('reads every instance of every reservation, over pages, with its public and private IP', async () => {
    const { client, bodies } = await scripted([
      {
        status: 200,
        xml: page([[instance('i-0aaa', '203.0.113.5', '10.1.0.5')], [instance('i-0bbb', null, '10.1.0.6')]], 'tok'),
      },
      { status: 200, xml: page([[instance('i-0ccc', '198.51.100.9', '10.1.0.7')]]) },
    ]);
    const found = await client.describeInstances(['i-0aaa', 'i-0bbb', 'i-0ccc']);
    client.destroy();
    expect(found).toEqual([
      { instanceId: 'i-0aaa', publicIp: '203.0.113.5', privateIp: '10.1.0.5' },
      { instanceId: 'i-0bbb', publicIp: null, privateIp: '10.1.0.6' },
      { instanceId: 'i-0ccc', publicIp: '198.51.100.9', privateIp: '10.1.0.7' },
    ]);
    const first = new URLSearchParams(bodies[0]);
    expect(first.get('Action')).toBe('DescribeInstances');
    expect([first.get('InstanceId.1'), first.get('InstanceId.3')]).toEqual(['i-0aaa', 'i-0ccc']);
    expect(new URLSearchParams(bodies[1]).get('NextToken')).toBe('tok');
  });

  it('throws the EC2 error named after its code', async () => {
    const { client } = await scripted([
      {
        status: 400,
        xml: "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-0aaa' does not exist</Message></Error></Errors><RequestID>r-2</RequestID></Response>",
      },
    ]);
    const error = await client.describeInstances(['i-0aaa']).catch((e: unknown) => e);
    client.destroy();
    expect(errorName(error)).toBe('InvalidInstanceID.NotFound');
  });
});
