// Test helpers for suites that need a real Docker engine and registry (DESIGN.md §4).
//
// The engine comes from DOCKER_HOST (scripts/test-services.sh starts a private one; `eval "$(scripts/test-services.sh env)"`).
// When no engine answers, Docker suites are skipped with a visible notice — unless DOCKHAND_REQUIRE_DOCKER=1 (CI),
// in which case they fail.
//
//   await describeWithDocker('pushes images', ({ docker, registry }) => { it(...); });
//
// or, when the suite wants the engine at module level:
//
//   const docker = await requireDocker();            // throws when required and missing
//   describe.skipIf(!docker)('...', () => { ... docker! ... });

import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { describe, it } from 'vitest';

const execFileAsync = promisify(execFile);

export const DEFAULT_TEST_REGISTRY = '127.0.0.1:5000';
/** Host binary copied into every test image (busybox-static: statically linked, so it runs `FROM scratch`). */
export const HOST_BUSYBOX = '/bin/busybox';
const PING_TIMEOUT_MS = 2_000;

export type DockerTestContext = {
  docker: Docker;
  /** host:port of the test registry, e.g. '127.0.0.1:5000' */
  registry: string;
};

export type DockerProbe = { ok: true; docker: Docker } | { ok: false; reason: string };

/** Build a dockerode client for DOCKER_HOST (unix:///path or tcp://host:port); null when DOCKER_HOST is unset. */
export function dockerClientFromEnv(env: NodeJS.ProcessEnv = process.env): Docker | null {
  const host = env.DOCKER_HOST?.trim();
  if (!host) return null;
  if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
  if (host.startsWith('/')) return new Docker({ socketPath: host });
  const url = new URL(host.replace(/^tcp:\/\//, 'http://'));
  return new Docker({
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    host: url.hostname,
    port: url.port || (url.protocol === 'https:' ? 2376 : 2375),
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms}ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Ping the engine named by DOCKER_HOST; says why when there is none. */
export async function probeDocker(env: NodeJS.ProcessEnv = process.env): Promise<DockerProbe> {
  const docker = dockerClientFromEnv(env);
  if (!docker) return { ok: false, reason: 'DOCKER_HOST is not set' };
  try {
    await withTimeout(docker.ping(), PING_TIMEOUT_MS, `ping ${env.DOCKER_HOST}`);
    return { ok: true, docker };
  } catch (err) {
    return {
      ok: false,
      reason: `no Docker engine answers at DOCKER_HOST=${env.DOCKER_HOST}: ${(err as Error).message}`,
    };
  }
}

/** A dockerode instance for DOCKER_HOST, or null when unset or not answering (short ping). */
export async function dockerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<Docker | null> {
  const probe = await probeDocker(env);
  return probe.ok ? probe.docker : null;
}

export function dockerRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.DOCKHAND_REQUIRE_DOCKER === '1';
}

/** host:port of the test registry (DOCKHAND_TEST_REGISTRY, default 127.0.0.1:5000). */
export function testRegistry(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKHAND_TEST_REGISTRY?.trim() || DEFAULT_TEST_REGISTRY;
}

const HOW_TO_START = 'start one with: scripts/test-services.sh start && eval "$(scripts/test-services.sh env)"';
let warned = false;

function warnSkipped(reason: string): void {
  if (warned) return;
  warned = true;
  console.warn(`\n⚠ Skipping Docker test suites: ${reason}.\n  ${HOW_TO_START}\n`);
}

function requiredMessage(reason: string): string {
  return `DOCKHAND_REQUIRE_DOCKER=1 but ${reason}. ${HOW_TO_START}`;
}

/**
 * The engine, or null (after a one-time console.warn) so callers can `describe.skipIf(!docker)`.
 * Throws when DOCKHAND_REQUIRE_DOCKER=1 and no engine answers — the test file then fails.
 */
export async function requireDocker(): Promise<Docker | null> {
  const probe = await probeDocker();
  if (probe.ok) return probe.docker;
  if (dockerRequired()) throw new Error(requiredMessage(probe.reason));
  warnSkipped(probe.reason);
  return null;
}

/**
 * `describe` that runs only with a Docker engine. Without one: skipped with a notice, or — when
 * DOCKHAND_REQUIRE_DOCKER=1 — a suite with a single failing test that says why. `fn` is only called
 * when the engine answers. Use with top-level await: `await describeWithDocker('x', ({ docker }) => {...})`.
 */
export async function describeWithDocker(name: string, fn: (ctx: DockerTestContext) => void): Promise<void> {
  const probe = await probeDocker();
  if (probe.ok) {
    describe(name, () => fn({ docker: probe.docker, registry: testRegistry() }));
    return;
  }
  if (dockerRequired()) {
    describe(name, () => {
      it('has a Docker engine', () => {
        throw new Error(requiredMessage(probe.reason));
      });
    });
    return;
  }
  warnSkipped(probe.reason);
  describe.skip(name, () => {
    it(`needs a Docker engine (${probe.reason})`, () => {});
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The registry with basic auth (scripts/test-services.sh's auth-registry piece)

export type AuthRegistry = {
  /** host:port, e.g. '127.0.0.1:5001' */
  address: string;
  username: string;
  password: string;
};

export type AuthRegistryTestContext = DockerTestContext & { auth: AuthRegistry };

type AuthRegistryProbe = { ok: true; auth: AuthRegistry } | { ok: false; reason: string };

/**
 * The auth registry of DOCKHAND_TEST_AUTH_REGISTRY{,_USER,_PASSWORD}, checked for real: /v2/ must answer 401 with a
 * Basic challenge without credentials and 200 with them (so a registry without auth, or a stale password, is
 * reported instead of passing every "wrong password" test for the wrong reason).
 */
export async function probeAuthRegistry(env: NodeJS.ProcessEnv = process.env): Promise<AuthRegistryProbe> {
  const address = env.DOCKHAND_TEST_AUTH_REGISTRY?.trim();
  const username = env.DOCKHAND_TEST_AUTH_REGISTRY_USER;
  const password = env.DOCKHAND_TEST_AUTH_REGISTRY_PASSWORD;
  if (!address) return { ok: false, reason: 'DOCKHAND_TEST_AUTH_REGISTRY is not set' };
  if (!username || !password)
    return { ok: false, reason: 'DOCKHAND_TEST_AUTH_REGISTRY_USER or DOCKHAND_TEST_AUTH_REGISTRY_PASSWORD is not set' };
  const url = `http://${address}/v2/`;
  const basic = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  try {
    const anonymous = await fetch(url, { signal: AbortSignal.timeout(PING_TIMEOUT_MS) });
    await anonymous.body?.cancel();
    if (anonymous.status !== 401 || !/^basic /i.test(anonymous.headers.get('www-authenticate') ?? ''))
      return {
        ok: false,
        reason: `${url} answered ${anonymous.status} without credentials, not 401 with a Basic challenge`,
      };
    const authenticated = await fetch(url, {
      headers: { Authorization: basic },
      signal: AbortSignal.timeout(PING_TIMEOUT_MS),
    });
    await authenticated.body?.cancel();
    if (authenticated.status !== 200)
      return {
        ok: false,
        reason: `${url} answered ${authenticated.status} to DOCKHAND_TEST_AUTH_REGISTRY_USER's password`,
      };
  } catch (err) {
    return { ok: false, reason: `no registry answers at ${url}: ${(err as Error).message}` };
  }
  return { ok: true, auth: { address, username, password } };
}

/**
 * `describe` that runs only with a Docker engine AND the registry with basic auth; otherwise skipped with a notice,
 * or failing when DOCKHAND_REQUIRE_DOCKER=1 (like describeWithDocker).
 */
export async function describeWithAuthRegistry(
  name: string,
  fn: (ctx: AuthRegistryTestContext) => void,
): Promise<void> {
  const docker = await probeDocker();
  const auth = docker.ok ? await probeAuthRegistry() : docker;
  if (docker.ok && auth.ok) {
    describe(name, () => fn({ docker: docker.docker, registry: testRegistry(), auth: auth.auth }));
    return;
  }
  const reason = docker.ok ? (auth.ok ? '' : auth.reason) : docker.reason;
  if (dockerRequired()) {
    describe(name, () => {
      it('has a Docker engine and the registry with basic auth', () => {
        throw new Error(requiredMessage(reason));
      });
    });
    return;
  }
  console.warn(`\n⚠ Skipping "${name}": ${reason}.\n  ${HOW_TO_START}\n`);
  describe.skip(name, () => {
    it(`needs a Docker engine and the registry with basic auth (${reason})`, () => {});
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Streams

/** One line of a build/push/pull JSON stream. */
export type DockerStreamEvent = {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
};

/**
 * Collect every JSON event of a build/push stream (via dockerode's modem.followProgress). Resolves even when an
 * event carries `errorDetail` — the engine reports failed RUN steps / pushes that way, with HTTP 200.
 */
export function followStream(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onEvent?: (event: DockerStreamEvent) => void,
): Promise<DockerStreamEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, events: DockerStreamEvent[]) => (err ? reject(err) : resolve(events)),
      onEvent,
    );
  });
}

/** The first error reported inside a stream, if any. */
export function streamError(events: DockerStreamEvent[]): string | undefined {
  const failed = events.find((e) => e.errorDetail || e.error);
  return failed ? failed.errorDetail?.message || failed.error || 'unknown error' : undefined;
}

type TarFs = { pack(dir: string, opts?: { ignore?: (name: string) => boolean }): NodeJS.ReadableStream };
// tar-fs ships no type declarations; load it through require with the small surface we use.
const tarFs = createRequire(import.meta.url)('tar-fs') as TarFs;

/** A build context directory as a tar stream for `docker.buildImage`. */
export function packContext(dir: string): NodeJS.ReadableStream {
  return tarFs.pack(dir);
}

/** A random tag that is valid for a registry ([A-Za-z0-9_.-], max 128). */
export function randomTag(prefix = 't'): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

export type BusyboxContextOptions = {
  /** Dockerfile lines appended after the busybox install (RUN/COPY/CMD/EXPOSE…). */
  dockerfileExtra?: string;
  /** Extra files, relative to the context root (directories are created). */
  files?: Record<string, string | Uint8Array>;
};

export function busyboxDockerfile(extra?: string): string {
  const lines = ['FROM scratch', 'COPY busybox /bin/busybox', 'RUN ["/bin/busybox","--install","-s","/bin"]'];
  if (extra?.trim()) lines.push(extra.trim());
  return lines.join('\n') + '\n';
}

/**
 * Write a build context into `dir` (created if needed): Dockerfile `FROM scratch` + the host's static busybox +
 * `busybox --install` (so RUN steps have a shell), then `dockerfileExtra`. Returns `dir`.
 */
export async function makeBusyboxContext(dir: string, options: BusyboxContextOptions = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  await copyFile(HOST_BUSYBOX, join(dir, 'busybox'));
  await writeFile(join(dir, 'Dockerfile'), busyboxDockerfile(options.dockerfileExtra));
  for (const [rel, content] of Object.entries(options.files ?? {})) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  return dir;
}

export type BusyboxGitRepoOptions = BusyboxContextOptions & {
  /** Put the build context in this sub-directory of the repository (default: the root). */
  subdir?: string;
  /** Branch name (default 'main'). */
  branch?: string;
  /** Commit message (default 'busybox fixture'). */
  message?: string;
};

export type BusyboxGitRepo = {
  /** Absolute path of the repository (clone it with `git clone <path>` or `file://<path>`). */
  path: string;
  /** Full SHA of the commit holding the context. */
  sha: string;
  branch: string;
  /** Remove the repository. */
  cleanup: () => Promise<void>;
};

/** Run git with the user's global/system config ignored, so hooks/templates/signing on a dev box cannot interfere. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, {
    cwd,
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' },
  });
  return stdout.trim();
}

/** A temporary git repository with a busybox build context committed; returns its path and commit SHA. */
export async function makeBusyboxGitRepo(options: BusyboxGitRepoOptions = {}): Promise<BusyboxGitRepo> {
  const branch = options.branch ?? 'main';
  const path = await mkdtemp(join(tmpdir(), 'dockhand-git-'));
  await git(path, 'init', '-q', '-b', branch);
  await git(path, 'config', 'user.name', 'Dockhand Test');
  await git(path, 'config', 'user.email', 'dockhand-test@example.invalid');
  await git(path, 'config', 'commit.gpgsign', 'false');
  await makeBusyboxContext(options.subdir ? join(path, options.subdir) : path, options);
  await git(path, 'add', '-A');
  await git(path, 'commit', '-q', '-m', options.message ?? 'busybox fixture');
  const sha = await git(path, 'rev-parse', 'HEAD');
  return { path, sha, branch, cleanup: () => rm(path, { recursive: true, force: true }) };
}
