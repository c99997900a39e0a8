// The Docker-host runtime's pure parts (port specs, names, log frames, timestamps) and connectDocker's TLS / ssh
// material, without an engine. The engine-facing behaviour is in test/integration/docker-host-runtime.test.ts.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker, redactHost } from '../../src/adapters/docker/connect.ts';
import {
  chunkLines,
  demultiplex,
  describePorts,
  EngineHostRuntime,
  fixedHostPort,
  parsePortSpec,
  parseTimestamped,
  replicaIndex,
  replicaNames,
  shortDeploymentId,
} from '../../src/adapters/docker/host-runtime.ts';
import { createImageRegistry } from '../../src/adapters/docker/registries.ts';
import { systemClock } from '../../src/adapters/system-clock.ts';
import { DockhandError } from '../../src/errors.ts';
import type { DockerHostTarget } from '../../src/ports.ts';

const frame = (type: number, text: string): Buffer => {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header.writeUInt8(type, 0);
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('port mappings', () => {
  it('reads host:container, a bare container port, a host range, a protocol and a host IP', () => {
    expect(parsePortSpec('80:8080')).toEqual({
      hostIp: undefined,
      hostPort: '80',
      containerPort: 8080,
      protocol: 'tcp',
    });
    expect(parsePortSpec('8080')).toMatchObject({ hostPort: undefined, containerPort: 8080 });
    expect(parsePortSpec('8000-8010:80/udp')).toMatchObject({ hostPort: '8000-8010', protocol: 'udp' });
    expect(parsePortSpec('127.0.0.1:80:8080')).toMatchObject({ hostIp: '127.0.0.1', hostPort: '80' });
    expect(() => parsePortSpec('http')).toThrow(DockhandError);
  });

  it('calls a mapping fixed when it pins one host port, not a range', () => {
    expect(fixedHostPort(['8080', '9000-9009:80', '80:8080'])).toBe('80:8080');
    expect(fixedHostPort(['8080', '9000-9009:80'])).toBeUndefined();
  });

  it('describes published and unpublished ports once each, IPv4 first', () => {
    expect(
      describePorts({
        '8080/tcp': [
          { HostIp: '0.0.0.0', HostPort: '80' },
          { HostIp: '::', HostPort: '80' },
        ],
        '9000/tcp': null as unknown as [],
      }),
    ).toEqual(['0.0.0.0:80->8080/tcp', '9000/tcp']);
  });
});

describe('names', () => {
  it('names one replica <container> and several <container>-1…N', () => {
    expect(replicaNames('web', 1)).toEqual(['web']);
    expect(replicaNames('web', 3)).toEqual(['web-1', 'web-2', 'web-3']);
  });

  it('knows a replica by its name, and nothing else', () => {
    expect(replicaIndex('web', 'web')).toBe(0);
    expect(replicaIndex('web', 'web-12')).toBe(12);
    expect(replicaIndex('web', 'web-next-abc')).toBeUndefined();
    expect(replicaIndex('web', 'web-1-next-abc')).toBeUndefined();
    expect(replicaIndex('web', 'webby')).toBeUndefined();
    expect(replicaIndex('web', 'web-0')).toBeUndefined();
  });

  it('shortens a deployment id to a name-safe suffix', () => {
    expect(shortDeploymentId('dep_01HZX3K9ABCDEFGH')).toBe('abcdefgh');
    expect(shortDeploymentId('__')).toBe('new');
  });
});

describe('container logs', () => {
  it('demultiplexes stdout and stderr frames, joining a line split across frames', () => {
    const body = Buffer.concat([frame(1, 'hello '), frame(1, 'world\nsecond\n'), frame(2, 'oops\n')]);
    expect(demultiplex(body, false)).toEqual([
      { stream: 'stdout', text: 'hello world\nsecond\n' },
      { stream: 'stderr', text: 'oops\n' },
    ]);
    expect(chunkLines(demultiplex(body, false))).toEqual(['hello world', 'second', 'oops']);
  });

  it('passes a TTY container’s raw output (or anything unframed) through as stdout', () => {
    expect(demultiplex(Buffer.from('plain text\r\nmore\n'), true)).toEqual([
      { stream: 'stdout', text: 'plain text\r\nmore\n' },
    ]);
    expect(chunkLines(demultiplex(Buffer.from('not framed at all\n'), false))).toEqual(['not framed at all']);
    expect(demultiplex(Buffer.alloc(0), false)).toEqual([]);
  });

  it('reads the engine’s nanosecond timestamps', () => {
    expect(parseTimestamped('2024-05-01T10:00:00.123456789Z GET / 200')).toEqual({
      at: new Date('2024-05-01T10:00:00.123Z'),
      message: 'GET / 200',
    });
    expect(parseTimestamped('2024-05-01T10:00:00Z ')).toEqual({ at: new Date('2024-05-01T10:00:00Z'), message: '' });
    expect(parseTimestamped('no time here')).toBeUndefined();
  });
});

describe('connectDocker', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dockhand-tls-'));
    for (const f of ['ca.pem', 'cert.pem', 'key.pem', 'id_ed25519']) await writeFile(join(dir, f), `${f} contents`);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const modem = (docker: ReturnType<typeof connectDocker>) => docker.modem as unknown as Record<string, unknown>;

  it('speaks TLS to tcp:// with the configured certificate files', () => {
    const m = modem(
      connectDocker('tcp://10.0.0.5:2376', {
        tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') },
      }),
    );
    expect(m).toMatchObject({ host: '10.0.0.5', port: 2376, protocol: 'https' });
    expect(String(m.key)).toBe('key.pem contents');
    expect(String(m.ca)).toBe('ca.pem contents');
  });

  it('takes the Docker CLI’s DOCKER_CERT_PATH from the environment it is given', () => {
    const m = modem(connectDocker('tcp://10.0.0.5:2375', { env: { DOCKER_CERT_PATH: dir } }));
    expect(m).toMatchObject({ protocol: 'https', port: 2375 });
    expect(String(m.cert)).toBe('cert.pem contents');
    expect(modem(connectDocker('tcp://10.0.0.5', { env: { DOCKER_TLS_VERIFY: '1' } }))).toMatchObject({
      protocol: 'https',
      port: 2376,
    });
    expect(modem(connectDocker('tcp://10.0.0.5'))).toMatchObject({ protocol: 'http', port: 2375, key: undefined });
  });

  it('uses the ssh key file, else the agent', () => {
    const withKey = modem(connectDocker('ssh://ec2-user@203.0.113.10', { sshKey: join(dir, 'id_ed25519') }));
    expect(withKey).toMatchObject({ protocol: 'ssh', host: '203.0.113.10', port: 22, username: 'ec2-user' });
    expect(String((withKey.sshOptions as { privateKey: Buffer }).privateKey)).toBe('id_ed25519 contents');
    const withAgent = modem(connectDocker('ssh://deploy@box:2222', { env: { SSH_AUTH_SOCK: '/run/agent.sock' } }));
    expect(withAgent).toMatchObject({ port: 2222, sshOptions: { agent: '/run/agent.sock' } });
  });

  it('names a missing key file without showing anything of it', () => {
    let error: unknown;
    try {
      connectDocker('tcp://10.0.0.5:2376', {
        tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'cert.pem'), key: '/nope/key.pem' },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DockhandError);
    expect((error as DockhandError).message).toBe('cannot read the TLS key file /nope/key.pem: ENOENT');
  });

  it('never shows a password in the engine URL', () => {
    expect(redactHost('tcp://admin:s3cret@10.0.0.5:2375')).toBe('tcp://admin@10.0.0.5:2375');
    expect(redactHost('ssh://ec2-user@203.0.113.10')).toBe('ssh://ec2-user@203.0.113.10');
    expect(redactHost('unix:///var/run/docker.sock')).toBe('unix:///var/run/docker.sock');
  });
});

describe('EngineHostRuntime without an engine', () => {
  const target: DockerHostTarget = {
    service: 'web',
    environment: 'box',
    host: 'tcp://user:pa55word@127.0.0.1:1',
    container: 'web',
    ports: [],
    env: {},
    volumes: [],
    replicas: 1,
  };

  it('says which engine it cannot reach and why, without the password', async () => {
    const error = (await new EngineHostRuntime({ clock: systemClock })
      .snapshot(target)
      .catch((e) => e)) as DockhandError;
    expect(error).toBeInstanceOf(DockhandError);
    expect(error.message).toBe('cannot reach the Docker engine at tcp://user@127.0.0.1:1: ECONNREFUSED');
    expect(error.hint).toMatch(/listens on TCP/);
  });

  it('refuses several replicas on a fixed host port before touching the engine', async () => {
    let connected = false;
    const runtime = new EngineHostRuntime({
      clock: systemClock,
      connect: () => {
        connected = true;
        throw new Error('no engine in unit tests');
      },
    });
    const error = await runtime
      .deploy({
        target: { ...target, ports: ['80:8080'], replicas: 2 },
        image: 'web:1',
        pull: false,
        deploymentId: 'd',
      })
      .catch((e: unknown) => e);
    expect(connected).toBe(false);
    expect((error as DockhandError).message).toMatch(/2 replicas cannot share the fixed host port of "80:8080"/);
  });

  it('reads a bounded tail of each container’s logs, never the whole window', async () => {
    const asked: Record<string, unknown>[] = [];
    const line = (i: number) => `2024-05-01T10:00:${String(i % 60).padStart(2, '0')}.000000000Z line ${i}\n`;
    const fake = {
      listContainers: async (opts: { filters: { label?: string[] } }) =>
        opts.filters.label
          ? [{ Id: 'c1', Names: ['/web'], Labels: { 'dockhand.service': 'web' }, State: 'running', Created: 1 }]
          : [],
      getContainer: () => ({
        inspect: async () => ({ Config: { Tty: true } }),
        logs: async (opts: Record<string, unknown>) => {
          asked.push(opts);
          const n = typeof opts.tail === 'number' ? opts.tail : 100_000; // the engine keeps a lot
          return Buffer.from(Array.from({ length: n }, (_, i) => line(i)).join(''));
        },
      }),
    } as unknown as Docker;
    const runtime = new EngineHostRuntime({ clock: systemClock, connect: () => fake });
    const since = new Date('2024-05-01T09:00:00Z');

    const plain = await runtime.logs(target, { since, limit: 200 });
    expect(plain.lines).toHaveLength(200);
    expect(plain.incomplete).toBe(true);
    const grepped = await runtime.logs(target, { since, grep: 'line 7', limit: 200 });
    expect(grepped.incomplete).toBe(true);
    for (const opts of asked) {
      expect(typeof opts.tail).toBe('number');
      expect(opts.tail as number).toBeLessThanOrEqual(20_000);
    }
  });
});

describe('pull credentials of a registry (ImageRegistry.auth)', () => {
  const docker = {} as Docker;

  it('is the configured user for a plain registry, and nothing for an anonymous one', async () => {
    const inhouse = createImageRegistry(
      'inhouse',
      { type: 'registry', address: 'registry.internal:5000', insecure: true, username: 'ci', password: 'pw' },
      { docker, clock: systemClock },
    );
    expect(await inhouse.auth?.()).toEqual({ username: 'ci', password: 'pw', serveraddress: 'registry.internal:5000' });
    const anonymous = createImageRegistry(
      'hub',
      { type: 'registry', address: 'r:5000', insecure: false },
      { docker, clock: systemClock },
    );
    expect(await anonymous.auth?.()).toBeUndefined();
  });

  it('is the ECR login token for ECR', async () => {
    const ecrMock = mockClient(ECRClient);
    ecrMock.on(GetAuthorizationTokenCommand).resolves({
      authorizationData: [
        {
          authorizationToken: Buffer.from('AWS:ecr-password').toString('base64'),
          proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com',
          expiresAt: new Date(Date.now() + 3_600_000),
        },
      ],
    });
    try {
      const ecr = createImageRegistry(
        'ecr',
        { type: 'ecr' },
        { docker, clock: systemClock, ecr: () => new ECRClient({ region: 'us-east-1' }) },
      );
      expect(await ecr.auth?.()).toEqual({
        username: 'AWS',
        password: 'ecr-password',
        serveraddress: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com',
      });
    } finally {
      ecrMock.restore();
    }
  });
});
