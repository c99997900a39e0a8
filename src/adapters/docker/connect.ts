import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { DockhandError, errorName } from '../../errors.ts';

/** How to authenticate to an engine, besides its URL. Every path is read when the client is made. */
export interface DockerConnectOptions {
  /** Client certificate files for tcp:// with TLS (the engine's `--tlsverify`). */
  tls?: { ca: string; cert: string; key: string } | undefined;
  /** Private key file for ssh://; without it the ssh agent at env.SSH_AUTH_SOCK is used. */
  sshKey?: string | undefined;
  /**
   * The Docker CLI's own variables, passed in by the caller (nothing here reads process.env):
   * DOCKER_CERT_PATH (a directory with ca.pem, cert.pem, key.pem), DOCKER_TLS_VERIFY=1, SSH_AUTH_SOCK.
   */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Milliseconds until the engine must have answered a request's headers (undefined = no limit). */
  connectionTimeoutMs?: number | undefined;
}

/**
 * docker-modem fills unset options from process.env.DOCKER_HOST / DOCKER_CERT_PATH; every connection option is set
 * explicitly (undefined included) so that one engine's URL never mixes with another's environment.
 */
const BLANK = {
  socketPath: undefined,
  host: undefined,
  port: undefined,
  protocol: undefined,
  username: undefined,
  ca: undefined,
  cert: undefined,
  key: undefined,
} as const;

const readMaterial = (what: string, path: string): Buffer => {
  try {
    return readFileSync(path);
  } catch (e) {
    // The path is configuration, not a secret; the file's content never appears in a message.
    const code = e && typeof e === 'object' && 'code' in e ? String(e.code) : errorName(e);
    throw new DockhandError('config', `cannot read the ${what} file ${path}: ${code}`, {
      cause: e,
      hint: 'Check the path in dockhand.yml and that dockhand may read the file.',
    });
  }
};

const tlsMaterial = (options: DockerConnectOptions): { ca: Buffer; cert: Buffer; key: Buffer } | undefined => {
  const certPath = options.env?.DOCKER_CERT_PATH;
  const files =
    options.tls ??
    (certPath
      ? { ca: join(certPath, 'ca.pem'), cert: join(certPath, 'cert.pem'), key: join(certPath, 'key.pem') }
      : undefined);
  if (!files) return undefined;
  return {
    ca: readMaterial('TLS CA', files.ca),
    cert: readMaterial('TLS certificate', files.cert),
    key: readMaterial('TLS key', files.key),
  };
};

/**
 * dockerode, loaded on first use: with docker-modem, ssh2 and gRPC it costs about 34 MiB of RSS and 0.15 s at import,
 * which a dockhand that never builds and has no Docker-host target (ECS only) should not pay. The package is required
 * (synchronously, from Node's module cache after the first time) when the first engine client is made; types are
 * imported as usual (`import type`), which loads nothing.
 */
const require = createRequire(import.meta.url);
const dockerode = (): typeof Docker => require('dockerode');

/**
 * The dockerode options for a DOCKER_HOST-style URL (unix://, npipe://, tcp://, https://, ssh://); undefined = the
 * default socket. dockerode would read DOCKER_HOST itself; parsing it here keeps the environment read in one place.
 *
 * tcp:// speaks TLS when certificate files are given (options.tls, or DOCKER_CERT_PATH in options.env), when
 * DOCKER_TLS_VERIFY=1, or on port 2376. ssh:// runs `docker system dial-stdio` on the host (Docker ≥ 18.09 there)
 * with options.sshKey, else the agent at SSH_AUTH_SOCK.
 */
const dockerOptions = (host: string | undefined, options: DockerConnectOptions): Docker.DockerOptions => {
  const timeout = options.connectionTimeoutMs ? { connectionTimeout: options.connectionTimeoutMs } : {};
  if (!host) return { ...BLANK, socketPath: '/var/run/docker.sock', ...timeout };
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new DockhandError(
      'config',
      `Docker host "${redactHost(host)}" is not a URL such as unix:///var/run/docker.sock`,
    );
  }
  switch (url.protocol) {
    case 'unix:':
    case 'npipe:':
      return { ...BLANK, socketPath: decodeURIComponent(url.pathname), ...timeout };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = tlsMaterial(options);
      const https =
        url.protocol === 'https:' || tls !== undefined || options.env?.DOCKER_TLS_VERIFY === '1' || url.port === '2376';
      return {
        ...BLANK,
        host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: Number(url.port || (https ? 2376 : 2375)),
        protocol: https ? 'https' : 'http',
        ...(tls ?? {}),
        ...timeout,
      };
    }
    case 'ssh:': {
      const sshOptions: { privateKey?: Buffer; agent?: string } = options.sshKey
        ? { privateKey: readMaterial('ssh key', options.sshKey) }
        : options.env?.SSH_AUTH_SOCK
          ? { agent: options.env.SSH_AUTH_SOCK }
          : {};
      return {
        ...BLANK,
        protocol: 'ssh',
        host: url.hostname,
        port: Number(url.port || 22),
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
        sshOptions,
        ...timeout,
      } as Docker.DockerOptions;
    }
    default:
      throw new DockhandError('config', `Docker host "${redactHost(host)}": expected unix://, tcp:// or ssh://`);
  }
};

/**
 * A dockerode client for a DOCKER_HOST-style URL; see dockerOptions. Throws DockhandError('config') for a URL it
 * cannot use or a certificate/key file it cannot read.
 */
export const connectDocker = (host: string | undefined, options: DockerConnectOptions = {}): Docker => {
  const resolved = dockerOptions(host, options);
  const DockerClient = dockerode();
  return new DockerClient(resolved);
};

/**
 * The client of connectDocker, made (and dockerode loaded) on the first call of the returned function. The URL is
 * checked and the files are read now, so that a wrong DOCKER_HOST is still reported at start-up.
 */
export const lazyDocker = (host: string | undefined, options: DockerConnectOptions = {}): (() => Docker) => {
  const resolved = dockerOptions(host, options);
  let client: Docker | undefined;
  return () => {
    if (!client) {
      const DockerClient = dockerode();
      client = new DockerClient(resolved);
    }
    return client;
  };
};

/** The engine URL as it may be shown: without a password (a user name stays, it helps with ssh errors). */
export const redactHost = (host: string): string => host.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1@');
