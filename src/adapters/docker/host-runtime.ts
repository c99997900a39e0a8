/**
 * DockerHostRuntime on a plain Docker engine (DESIGN.md §2.3 `type: docker`, §3.1 "Docker host").
 *
 * A service's containers are found by their labels (dockhand.service + dockhand.environment) and are named
 * `<container>` (one replica) or `<container>-1…N`. A container that merely holds one of those names without
 * dockhand's labels (the box's hand-made `docker run --name web …`) is adopted: the first deploy replaces it.
 *
 * deploy: pull → start the new containers beside the old ones as `<name>-next-<id>` → wait until healthy →
 * give them the service's network alias (`<container>`, on a user-defined network) → rename the old ones aside
 * (`<name>-old-<id>`) and the new ones to the stable names → the old ones leave the network, stop and are removed.
 * So the stable name always resolves to a container that answers (no failed request during a replace). When a port mapping fixes a host port
 * ("80:8080") the old containers must release it first: they are stopped (kept), and started again if the new
 * ones fail. Whatever fails, the containers this deploy started are removed and the old ones keep running.
 *
 * Health, in order: the image's (or container's) HEALTHCHECK; else target.healthcheck, probed from dockhand's
 * side (see `probeAddress`); else "running for runningGraceMs without a restart".
 */
import { connect as netConnect } from 'node:net';
import type Docker from 'dockerode';
import { DockhandError, HostDeployError } from '../../errors.ts';
import { maskSecrets } from '../../logger.ts';
import type {
  Clock,
  DockerHostRuntime,
  DockerHostTarget,
  Health,
  HostContainer,
  HostDeployRequest,
  HostDeployResult,
  HostPhase,
  HostRecovery,
  HostSnapshot,
  RegistryAuth,
} from '../../ports.ts';
import { connectDocker, type DockerConnectOptions, redactHost } from './connect.ts';
import { engineErrorMessage, eventError, readEngineStream, splitImageRef } from './json-stream.ts';

export const LABELS = {
  service: 'dockhand.service',
  environment: 'dockhand.environment',
  /**
   * The target's container name: two dockhands on one engine may both have a service `hello` in `local` (two
   * people running the example); a container labelled with another name is a neighbour's, never touched.
   */
  container: 'dockhand.container',
  deployment: 'dockhand.deployment',
  digest: 'dockhand.digest',
  image: 'dockhand.image',
  /** Set on containers a /scale added: the scale operation's id (dockhand.deployment stays the image's deploy). */
  scaledBy: 'dockhand.scaled-by',
} as const;

/** Newest log lines read per container when searching with grep (the engine sends them in one buffer). */
export const LOG_SCAN_LINES = 10_000;

export interface EngineHostRuntimeOptions {
  /** A client for a target's engine (default: connectDocker with the target's TLS files / ssh key). */
  connect?: (target: DockerHostTarget) => Docker;
  clock: Clock;
  /** How long new containers may take to become healthy (default 120 s). */
  healthTimeoutMs?: number;
  /** Without any health signal: healthy after running this long without a restart (default 10 s). */
  runningGraceMs?: number;
  /** Between health polls (default 1 s). */
  pollMs?: number;
  /**
   * The network containers join (HostConfig.NetworkMode): 'bridge' (default), 'host', or a user-defined network's
   * name. With 'host' the port mappings are not applied (the container's ports are the host's).
   */
  networkMode?: string;
  /** DOCKER_CERT_PATH, DOCKER_TLS_VERIFY, SSH_AUTH_SOCK for the default connect (nothing reads process.env). */
  env?: DockerConnectOptions['env'];
  /** Seconds a container gets to stop before it is killed (default 10). */
  stopTimeoutSeconds?: number;
  /** Reachability probe for target.healthcheck (default: TCP connect, or HTTP GET when a path is set). */
  probe?: (address: string, port: number, path: string | undefined) => Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers (exported for unit tests)

export interface PortSpec {
  hostIp?: string | undefined;
  /** "80" or a range "8000-8010"; undefined = not published on a fixed port (the engine picks one). */
  hostPort?: string | undefined;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

const PORT_SPEC = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(?:(\d{1,5}(?:-\d{1,5})?):)?(\d{1,5})(?:\/(tcp|udp))?$/;

/** "host:container[/proto]", "ip:host:container", "hostFrom-hostTo:container" or just "container". */
export const parsePortSpec = (spec: string): PortSpec => {
  const m = PORT_SPEC.exec(spec.trim());
  if (!m?.[3]) throw new DockhandError('config', `port mapping "${spec}": expected "host:container" or "container"`);
  return {
    hostIp: m[1],
    hostPort: m[2],
    containerPort: Number(m[3]),
    protocol: m[4] === 'udp' ? 'udp' : 'tcp',
  };
};

/** The first mapping that pins one host port (a range does not: the engine picks a free port in it). */
export const fixedHostPort = (ports: readonly string[]): string | undefined =>
  ports.find((p) => {
    const hostPort = parsePortSpec(p).hostPort;
    return hostPort !== undefined && !hostPort.includes('-');
  });

/** Final names: `<container>` for one replica, `<container>-1…N` for more. */
export const replicaNames = (container: string, replicas: number): string[] =>
  replicas === 1 ? [container] : Array.from({ length: replicas }, (_, i) => `${container}-${i + 1}`);

/** 0 for `<container>`, N for `<container>-N`, undefined for any other name. */
export const replicaIndex = (container: string, name: string): number | undefined => {
  if (name === container) return 0;
  if (!name.startsWith(`${container}-`)) return undefined;
  const rest = name.slice(container.length + 1);
  return /^[1-9]\d{0,3}$/.test(rest) ? Number(rest) : undefined;
};

/** A short, name-safe form of a deployment id (its last 8 letters or digits). */
export const shortDeploymentId = (id: string): string =>
  id
    .replace(/[^a-zA-Z0-9]/g, '')
    .slice(-8)
    .toLowerCase() || 'new';

export interface LogChunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

/**
 * The log API's body for a container without a TTY is framed: [stream type, 0, 0, 0, size (uint32 BE)] + payload.
 * A TTY container's body (or anything that does not look framed) is raw stdout.
 */
export const demultiplex = (body: Buffer, tty: boolean): LogChunk[] => {
  const raw = (): LogChunk[] => (body.length > 0 ? [{ stream: 'stdout', text: body.toString('utf8') }] : []);
  if (tty) return raw();
  const chunks: LogChunk[] = [];
  let offset = 0;
  while (offset + 8 <= body.length) {
    const type = body[offset];
    if ((type !== 1 && type !== 2 && type !== 0) || body[offset + 1] || body[offset + 2] || body[offset + 3]) {
      return offset === 0 ? raw() : chunks;
    }
    const size = body.readUInt32BE(offset + 4);
    const end = Math.min(body.length, offset + 8 + size);
    const text = body.subarray(offset + 8, end).toString('utf8');
    const stream = type === 2 ? 'stderr' : 'stdout';
    const last = chunks.at(-1);
    if (last && last.stream === stream && !last.text.endsWith('\n')) last.text += text;
    else chunks.push({ stream, text });
    offset = end;
  }
  if (offset === 0 && body.length > 0) return raw();
  return chunks;
};

/** The chunks as lines (empty trailing line dropped, \r removed). */
export const chunkLines = (chunks: readonly LogChunk[]): string[] =>
  chunks.flatMap((c) => c.text.replace(/\r/g, '').replace(/\n$/, '').split('\n'));

const TIMESTAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d) ?(.*)$/;

/** "2024-05-01T10:00:00.123456789Z message" → its time (millisecond precision) and message. */
export const parseTimestamped = (line: string): { at: Date; message: string } | undefined => {
  const m = TIMESTAMPED.exec(line);
  if (!m) return undefined;
  const fraction = (m[2] ?? '').slice(0, 4);
  const at = new Date(`${m[1]}${fraction}${m[3]}`);
  return Number.isNaN(at.getTime()) ? undefined : { at, message: m[4] ?? '' };
};

const toHealth = (status: string | undefined): Health =>
  status === 'healthy' ? 'HEALTHY' : status === 'unhealthy' ? 'UNHEALTHY' : 'UNKNOWN';

const hasHealthcheck = (info: Docker.ContainerInspectInfo): boolean => {
  const test = info.Config.Healthcheck?.Test;
  return Array.isArray(test) && test.length > 0 && test[0] !== 'NONE';
};

/** "0.0.0.0:80->8080/tcp" per published port (IPv6 duplicates dropped), "8080/tcp" for an unpublished one. */
export const describePorts = (ports: Docker.ContainerInspectInfo['NetworkSettings']['Ports'] | undefined): string[] => {
  const out: string[] = [];
  for (const [port, bindings] of Object.entries(ports ?? {})) {
    if (!bindings || bindings.length === 0) {
      out.push(port);
      continue;
    }
    const seen = new Set<string>();
    for (const b of bindings) {
      if (seen.has(b.HostPort)) continue;
      seen.add(b.HostPort);
      out.push(`${b.HostIp.includes(':') ? `[${b.HostIp}]` : b.HostIp || '0.0.0.0'}:${b.HostPort}->${port}`);
    }
  }
  return out.sort();
};

const validDate = (text: string | undefined): Date | undefined => {
  if (!text || text.startsWith('0001-')) return undefined;
  const at = new Date(text);
  return Number.isNaN(at.getTime()) ? undefined : at;
};

const isLocalEngine = (host: string): boolean => {
  if (/^(unix|npipe):/i.test(host)) return true;
  try {
    const hostname = new URL(host).hostname.replace(/^\[(.*)\]$/, '$1');
    return hostname === 'localhost' || hostname === '::1' || hostname.startsWith('127.');
  } catch {
    return false;
  }
};

const hostname = (host: string): string | undefined => {
  if (/^(unix|npipe):/i.test(host)) return undefined;
  try {
    return new URL(host).hostname.replace(/^\[(.*)\]$/, '$1') || undefined;
  } catch {
    return undefined;
  }
};

const containerName = (names: readonly string[] | string): string =>
  (typeof names === 'string' ? names : (names[0] ?? '')).replace(/^\//, '');

const errorCode = (e: unknown): string | undefined => {
  if (!e || typeof e !== 'object') return undefined;
  if ('code' in e && typeof e.code === 'string') return e.code;
  // ssh2 reports failures with a `level` (client-socket, client-authentication, client-timeout…).
  if ('level' in e && typeof e.level === 'string') return e instanceof Error ? `${e.level}: ${e.message}` : e.level;
  return undefined;
};

const UNREACHABLE =
  /^(ECONNREFUSED|ENOENT|EACCES|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EPIPE|client-)/;

const isUnreachable = (e: unknown): boolean => {
  const code = errorCode(e);
  if (code && UNREACHABLE.test(code)) return true;
  // docker-modem's connectionTimeout destroys the request: "socket hang up" without a code.
  return e instanceof Error && /socket hang up|Timed out while waiting for handshake/i.test(e.message);
};

/** The engine's own words, without docker-modem's "(HTTP code 404) unexpected - " prefix, masked. */
const engineMessage = (e: unknown): string =>
  maskSecrets(
    engineErrorMessage(e)
      .replace(/^\(HTTP code \d+\) [\w ]+ - /, '')
      .trim(),
  );

const statusCode = (e: unknown): number | undefined =>
  e && typeof e === 'object' && 'statusCode' in e && typeof e.statusCode === 'number' ? e.statusCode : undefined;

const defaultProbe = async (address: string, port: number, path: string | undefined): Promise<boolean> => {
  if (path !== undefined) {
    const url = `http://${address.includes(':') ? `[${address}]` : address}:${port}${path.startsWith('/') ? path : `/${path}`}`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000), redirect: 'manual' });
      await res.body?.cancel().catch(() => {});
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }
  return new Promise((resolve) => {
    const socket = netConnect({ host: address, port, timeout: 2_000 });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
};

/** Why a container is not (yet) healthy; thrown by waitHealthy, turned into HostDeployError by the caller. */
class Unhealthy extends Error {
  readonly containerId: string;

  constructor(containerId: string, detail: string) {
    super(detail);
    this.containerId = containerId;
  }
}

interface Found {
  /** The service's containers under their final names, by replica index (0 = `<container>`). */
  current: { info: Docker.ContainerInfo; name: string; index: number }[];
  /** Labelled containers under other names: leftovers of an interrupted deploy (`<name>-next-<id>`). */
  stale: Docker.ContainerInfo[];
}

interface Started {
  id: string;
  name: string;
  finalName: string;
}

// ---------------------------------------------------------------------------------------------------------------

export class EngineHostRuntime implements DockerHostRuntime {
  private readonly clients = new Map<string, Docker>();
  private readonly connectTo: (target: DockerHostTarget) => Docker;
  private readonly clock: Clock;
  private readonly healthTimeoutMs: number;
  private readonly runningGraceMs: number;
  private readonly pollMs: number;
  private readonly networkMode: string;
  private readonly stopSeconds: number;
  private readonly probe: (address: string, port: number, path: string | undefined) => Promise<boolean>;

  constructor(options: EngineHostRuntimeOptions) {
    this.connectTo =
      options.connect ??
      ((target) =>
        connectDocker(target.host, {
          tls: target.tls,
          sshKey: target.sshKey,
          env: options.env,
          connectionTimeoutMs: 60_000,
        }));
    this.clock = options.clock;
    this.healthTimeoutMs = options.healthTimeoutMs ?? 120_000;
    this.runningGraceMs = options.runningGraceMs ?? 10_000;
    this.pollMs = options.pollMs ?? 1_000;
    this.networkMode = options.networkMode ?? 'bridge';
    this.stopSeconds = options.stopTimeoutSeconds ?? 10;
    this.probe = options.probe ?? defaultProbe;
  }

  // -------------------------------------------------------------------------------------------------------------
  // snapshot

  snapshot(target: DockerHostTarget): Promise<HostSnapshot> {
    return this.guard(target, `inspecting ${target.container}`, async (docker) => {
      const found = await this.find(docker, target);
      const containers = await this.describe(
        docker,
        found.current.map((c) => c.info.Id),
      );
      return { host: redactHost(target.host), publicAddress: this.publicAddress(target), containers };
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // deploy

  deploy(request: HostDeployRequest): Promise<HostDeployResult> {
    const { target, image, deploymentId, signal } = request;
    const replicas = request.replicas ?? target.replicas;
    const progress = (phase: HostPhase, detail?: string) => {
      try {
        request.onProgress?.(phase, detail);
      } catch {
        // a listener's failure must not break the deploy
      }
    };
    let fixed: string | undefined;
    try {
      if (replicas < 1)
        throw new DockhandError('invalid', `${this.label(target)}: cannot deploy 0 replicas`, {
          hint: 'Set replicas to 1 or more, or use /scale to stop the service.',
        });
      fixed = this.checkPorts(target, replicas);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.guard(target, `deploying ${image}`, async (docker) => {
      signal?.throwIfAborted();

      const found = await this.settleStale(docker, target, await this.find(docker, target));

      if (request.pull) {
        progress('pulling', image);
        await this.pull(docker, target, image, request.auth, signal);
      }
      const digest = await this.imageDigest(docker, image);

      const old = found.current;
      const newest = [...old].sort((a, b) => b.info.Created - a.info.Created)[0];
      const previousImage = newest ? (newest.info.Labels[LABELS.image] ?? newest.info.Image) : undefined;
      const stopped = fixed ? old.filter((c) => c.info.State === 'running' || c.info.State === 'restarting') : [];
      const gap = stopped.length > 0;

      const labels = {
        ...this.serviceLabels(target),
        [LABELS.deployment]: deploymentId,
        [LABELS.image]: image,
        ...(digest ? { [LABELS.digest]: digest } : {}),
      };
      const short = shortDeploymentId(deploymentId);
      const started: Started[] = [];
      try {
        if (gap) {
          progress('stopping_old', `port ${fixed}`);
          for (const c of stopped) await this.stop(docker, c.info.Id);
        }
        progress('starting', `${replicas} container${replicas === 1 ? '' : 's'}`);
        for (const finalName of replicaNames(target.container, replicas)) {
          await this.createAndStart(docker, target, `${finalName}-next-${short}`, image, labels, started, finalName);
          signal?.throwIfAborted();
        }
        progress('waiting_healthy');
        await this.waitAllHealthy(docker, target, started, signal);
      } catch (e) {
        throw await this.undo(docker, target, e, started, gap ? stopped.map((c) => c.info.Id) : [], progress);
      }

      // Hand the name over without a moment where it resolves to nothing: the new containers answer the service's
      // alias first, the old ones step aside (`-old-`) so the new ones take the stable names, and only then do the
      // old ones leave the network and stop.
      const handedOver: { id: string; from: string }[] = [];
      try {
        for (const s of started) await this.joinAlias(docker, target, s.id);
        for (const c of old) {
          await this.rename(docker, c.info.Id, `${c.name}-old-${short}`);
          handedOver.push({ id: c.info.Id, from: c.name });
        }
        for (const s of started) await this.rename(docker, s.id, s.finalName);
      } catch (e) {
        for (const s of started) await this.rename(docker, s.id, s.name).catch(() => {});
        for (const h of handedOver.reverse()) await this.rename(docker, h.id, h.from).catch(() => {});
        throw await this.undo(docker, target, e, started, gap ? stopped.map((c) => c.info.Id) : [], progress);
      }
      progress('removing_old');
      await this.retireAll(
        docker,
        target,
        old.map((c) => c.info.Id),
      );
      const containers = await this.describe(
        docker,
        started.map((s) => s.id),
      );
      return { containers, previousImage, gap };
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // scale

  scale(target: DockerHostTarget, replicas: number, deploymentId: string): Promise<HostDeployResult> {
    try {
      if (!Number.isInteger(replicas) || replicas < 0)
        throw new DockhandError('invalid', `${this.label(target)}: ${replicas} is not a replica count`);
      this.checkPorts(target, replicas);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.guard(target, `scaling ${target.container}`, async (docker) => {
      const found = await this.settleStale(docker, target, await this.find(docker, target));
      const current = [...found.current].sort((a, b) => a.index - b.index);
      const template = [...current].sort((a, b) => b.info.Created - a.info.Created)[0];
      if (!template)
        throw new DockhandError('not_found', `nothing is deployed on ${redactHost(target.host)} yet`, {
          hint: `Deploy ${target.service} to ${target.environment} first.`,
        });
      const image = template.info.Labels[LABELS.image] ?? template.info.Image;

      if (replicas === 0) {
        // Stopped, not removed: the containers remember what runs here, and unless-stopped keeps them down.
        for (const c of current)
          if (c.info.State !== 'exited' && c.info.State !== 'created') await this.stop(docker, c.info.Id);
        return {
          containers: await this.describe(
            docker,
            current.map((c) => c.info.Id),
          ),
          gap: false,
        };
      }

      // Bring the names to the shape of the new count: one replica is `<container>`, several are `<container>-N`.
      const byIndex = new Map<number, { id: string; state: string }>();
      const surplus: string[] = [];
      const renamed: { id: string; from: string }[] = [];
      const deferred: { id: string; from: string; to: string }[] = [];
      if (replicas === 1) {
        const keep = current.find((c) => c.index === 0) ?? current[0];
        for (const c of [...current].reverse()) if (c !== keep) surplus.push(c.info.Id);
        if (keep) {
          if (keep.index !== 0) {
            await this.rename(docker, keep.info.Id, target.container);
            renamed.push({ id: keep.info.Id, from: keep.name });
          }
          byIndex.set(1, { id: keep.info.Id, state: keep.info.State });
        }
      } else {
        // `<container>` becomes `<container>-N` only once the added replicas answer the service's alias.
        const taken = new Set(current.map((c) => c.index));
        for (const c of current) {
          let index = c.index;
          if (index === 0) {
            index = 1;
            while (taken.has(index)) index++;
            taken.add(index);
            deferred.push({ id: c.info.Id, from: c.name, to: `${target.container}-${index}` });
          }
          if (index <= replicas && !byIndex.has(index)) byIndex.set(index, { id: c.info.Id, state: c.info.State });
          else surplus.push(c.info.Id);
        }
        surplus.reverse(); // highest index first
      }

      const labels = {
        ...this.serviceLabels(target),
        ...Object.fromEntries(Object.entries(template.info.Labels).filter(([k]) => k.startsWith('dockhand.'))),
        [LABELS.scaledBy]: deploymentId,
      };
      const started: Started[] = [];
      const restarted: Started[] = [];
      try {
        for (const [i, finalName] of replicaNames(target.container, replicas).entries()) {
          const existing = byIndex.get(replicas === 1 ? 1 : i + 1);
          if (existing) {
            if (existing.state !== 'running' && existing.state !== 'restarting') {
              await docker.getContainer(existing.id).start();
              restarted.push({ id: existing.id, name: finalName, finalName });
            }
            continue;
          }
          await this.createAndStart(docker, target, finalName, image, labels, started, finalName);
        }
        await this.waitAllHealthy(docker, target, [...restarted, ...started], undefined);
        for (const s of started) await this.joinAlias(docker, target, s.id);
        for (const d of deferred) {
          await this.rename(docker, d.id, d.to);
          renamed.push(d);
        }
      } catch (e) {
        for (const r of restarted) await this.stop(docker, r.id).catch(() => {});
        const error = await this.undo(docker, target, e, started, [], () => {});
        // The service keeps its old shape, names included.
        for (const r of renamed.reverse()) await this.rename(docker, r.id, r.from).catch(() => {});
        throw error;
      }
      await this.retireAll(docker, target, surplus);
      const keptIds = [...byIndex.values()].map((c) => c.id);
      return { containers: await this.describe(docker, [...keptIds, ...started.map((s) => s.id)]), gap: false };
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // recover

  recover(target: DockerHostTarget, interrupted: { deploymentId: string; since: Date }): Promise<HostRecovery> {
    return this.guard(target, `recovering ${target.container}`, async (docker) => {
      // The new containers that never took the stable names go; an old one that had stepped aside gets its name back.
      const found = await this.settleStale(docker, target, await this.find(docker, target));
      const restarted: string[] = [];
      for (const c of [...found.current].sort((a, b) => a.index - b.index)) {
        if (c.info.State !== 'exited') continue;
        if (c.info.Labels[LABELS.deployment] === interrupted.deploymentId) continue;
        const info = await docker.getContainer(c.info.Id).inspect();
        // Stopped by the interrupted deploy (to free its fixed host port), not before it (/scale 0, a crash of its own).
        const stoppedAt = validDate(info.State.FinishedAt);
        if (!stoppedAt || stoppedAt.getTime() < interrupted.since.getTime()) continue;
        await docker.getContainer(c.info.Id).start();
        restarted.push(c.name);
      }
      // Under the stable names and made by the interrupted deploy (or scale): the handover had finished.
      const tookOver = found.current
        .filter(
          (c) =>
            c.info.Labels[LABELS.deployment] === interrupted.deploymentId ||
            c.info.Labels[LABELS.scaledBy] === interrupted.deploymentId,
        )
        .sort((a, b) => a.index - b.index)
        .map((c) => c.name);
      return { restarted, tookOver };
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // logs

  logs(
    target: DockerHostTarget,
    query: { since: Date; grep?: string | undefined; limit: number },
  ): Promise<{ lines: { at: Date; container: string; message: string }[]; incomplete: boolean }> {
    return this.guard(target, `reading the logs of ${target.container}`, async (docker) => {
      const found = await this.find(docker, target);
      const sinceMs = query.since.getTime();
      const matched: { at: Date; container: string; message: string; order: number }[] = [];
      let order = 0;
      let cut = false;
      // The engine answers a non-following logs call in one buffer: ask for a bounded tail, never the whole window.
      const limit = Math.max(0, query.limit);
      const tail = query.grep ? Math.max(limit + 1, LOG_SCAN_LINES) : limit + 1;
      for (const c of found.current) {
        const container = docker.getContainer(c.info.Id);
        const info = await container.inspect();
        const body = await container.logs({
          stdout: true,
          stderr: true,
          timestamps: true,
          since: Math.floor(sinceMs / 1000),
          tail,
        });
        const read = chunkLines(demultiplex(toBuffer(body), info.Config.Tty));
        if (read.length >= tail) cut = true;
        for (const line of read) {
          const parsed = parseTimestamped(line);
          if (!parsed || parsed.at.getTime() < sinceMs) continue;
          if (query.grep && !parsed.message.includes(query.grep)) continue;
          matched.push({ at: parsed.at, container: c.name, message: maskSecrets(parsed.message), order: order++ });
        }
      }
      matched.sort((a, b) => a.at.getTime() - b.at.getTime() || a.order - b.order);
      const lines = matched.slice(Math.max(0, matched.length - limit)).map(({ at, container, message }) => ({
        at,
        container,
        message,
      }));
      return { lines, incomplete: matched.length > limit || cut };
    });
  }

  // -------------------------------------------------------------------------------------------------------------
  // Engine plumbing

  private client(target: DockerHostTarget): Docker {
    const key = JSON.stringify([target.host, target.tls ?? null, target.sshKey ?? null]);
    let docker = this.clients.get(key);
    if (!docker) {
      docker = this.connectTo(target);
      this.clients.set(key, docker);
    }
    return docker;
  }

  /** Runs `fn` with the target's client; an unreachable engine or a raw engine error becomes a DockhandError. */
  private async guard<T>(target: DockerHostTarget, action: string, fn: (docker: Docker) => Promise<T>): Promise<T> {
    const host = redactHost(target.host);
    try {
      return await fn(this.client(target));
    } catch (e) {
      if (e instanceof DockhandError) throw e;
      if (isUnreachable(e)) {
        throw new DockhandError(
          'docker',
          `cannot reach the Docker engine at ${host}: ${maskSecrets(errorCode(e) ?? engineErrorMessage(e))}`,
          {
            cause: e,
            hint: unreachableHint(target.host),
          },
        );
      }
      if (e instanceof Error && e.name === 'AbortError') throw e;
      throw new DockhandError('docker', `${action} on ${host}: ${engineMessage(e)}`, { cause: e });
    }
  }

  private label(target: DockerHostTarget): string {
    return `${target.service} (${target.environment}) on ${redactHost(target.host)}`;
  }

  private publicAddress(target: DockerHostTarget): string | undefined {
    return target.publicAddress ?? hostname(target.host);
  }

  /** The network a target's containers join: its own `network`, else the runtime's default. */
  private networkOf(target: DockerHostTarget): string {
    return target.network ?? this.networkMode;
  }

  private usesPorts(target: DockerHostTarget): boolean {
    return this.networkOf(target) !== 'host';
  }

  /** Validates the port mappings; the fixed host port that forces stop-first, if any (none with host networking). */
  private checkPorts(target: DockerHostTarget, replicas: number): string | undefined {
    for (const p of target.ports) parsePortSpec(p);
    const fixed = this.usesPorts(target) ? fixedHostPort(target.ports) : undefined;
    if (replicas > 1 && fixed) throw this.fixedPortError(target, fixed, replicas);
    return fixed;
  }

  private fixedPortError(target: DockerHostTarget, fixed: string, replicas: number): DockhandError {
    return new DockhandError(
      'invalid',
      `${this.label(target)}: ${replicas} replicas cannot share the fixed host port of "${fixed}"`,
      {
        hint: 'Map a host port range (e.g. "8080-8089:8080") or only the container port, and put a proxy in front.',
      },
    );
  }

  private serviceLabels(target: DockerHostTarget): Record<string, string> {
    return {
      [LABELS.service]: target.service,
      [LABELS.environment]: target.environment,
      [LABELS.container]: target.container,
    };
  }

  /** The service's containers: by label, plus unlabelled ones holding one of its final names (adopted). */
  private async find(docker: Docker, target: DockerHostTarget): Promise<Found> {
    const labelled = (
      await docker.listContainers({
        all: true,
        filters: { label: [`${LABELS.service}=${target.service}`, `${LABELS.environment}=${target.environment}`] },
      })
    ).filter((info) => {
      const owner = info.Labels[LABELS.container];
      if (owner !== undefined) return owner === target.container;
      // Labelled before dockhand.container existed: ours only under one of our names (a replica, or one that an
      // interrupted deploy left as `<replica>-next-<id>` or stepped aside as `<replica>-old-<id>`); under another
      // name it is a neighbour's.
      const name = containerName(info.Names);
      const aside = ASIDE_NAME.exec(name)?.[1];
      return (
        replicaIndex(target.container, name) !== undefined ||
        (aside !== undefined && replicaIndex(target.container, aside) !== undefined)
      );
    });
    const named = await docker.listContainers({ all: true, filters: { name: [target.container] } });
    const found: Found = { current: [], stale: [] };
    const seen = new Set<string>();
    for (const info of labelled) {
      seen.add(info.Id);
      const name = containerName(info.Names);
      const index = replicaIndex(target.container, name);
      if (index === undefined) found.stale.push(info);
      else found.current.push({ info, name, index });
    }
    for (const info of named) {
      if (seen.has(info.Id)) continue;
      const name = containerName(info.Names);
      const index = replicaIndex(target.container, name);
      if (index === undefined) continue;
      const owner = info.Labels[LABELS.service];
      if (owner !== undefined) {
        throw new DockhandError(
          'conflict',
          `the container ${name} on ${redactHost(target.host)} belongs to ${owner} (${info.Labels[LABELS.environment] ?? '?'})`,
          { hint: 'Give this service another container name in dockhand.yml.' },
        );
      }
      found.current.push({ info, name, index });
    }
    return found;
  }

  /**
   * Leftovers of an interrupted deploy: a `<name>-next-<id>` container whose final name no container holds is what
   * was left running after the old one stepped aside or was removed (a crash, or a failed rename, before the
   * rename): it is given its final name and kept. An old `<name>-old-<id>` container whose name nobody took is given
   * it back. The others (the name is held) are removed.
   */
  private async settleStale(docker: Docker, target: DockerHostTarget, found: Found): Promise<Found> {
    const held = new Set(found.current.map((c) => c.index));
    const promoted: Found['current'] = [];
    const remove: string[] = [];
    const newestFirst = [...found.stale].sort((a, b) => b.Created - a.Created);
    // New containers first; an old one that stepped aside (`-old-`) takes its name back when no new one holds it.
    const ordered = [
      ...newestFirst.filter((c) => !OLD_NAME.test(containerName(c.Names))),
      ...newestFirst.filter((c) => OLD_NAME.test(containerName(c.Names))),
    ];
    for (const info of ordered) {
      const m = ASIDE_NAME.exec(containerName(info.Names));
      const finalName = m?.[1];
      const index = finalName === undefined ? undefined : replicaIndex(target.container, finalName);
      const live = info.State === 'running' || info.State === 'restarting' || m?.[2] === 'old';
      if (finalName === undefined || index === undefined || held.has(index) || !live) {
        remove.push(info.Id);
        continue;
      }
      await this.rename(docker, info.Id, finalName);
      held.add(index);
      promoted.push({ info, name: finalName, index });
    }
    await this.removeAll(docker, remove);
    return { current: [...found.current, ...promoted], stale: [] };
  }

  private async pull(
    docker: Docker,
    target: DockerHostTarget,
    image: string,
    auth: RegistryAuth | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const failed = (message: string, cause?: unknown) =>
      new DockhandError('registry', `pulling ${image} on ${redactHost(target.host)} failed: ${message}`, {
        ...(cause === undefined ? {} : { cause }),
        hint: /unauthorized|denied|authentication required|no basic auth/i.test(message)
          ? 'Check the registry credentials in dockhand.yml.'
          : /not found|manifest unknown/i.test(message)
            ? 'Is the image in the registry? Push it, or deploy a tag that exists.'
            : 'Can the Docker host reach the registry (and trust it, or list it as an insecure registry)?',
      });
    let stream: NodeJS.ReadableStream;
    try {
      stream = (await docker.pull(image, {
        ...(auth ? { authconfig: auth } : {}),
        ...(signal ? { abortSignal: signal } : {}),
      })) as NodeJS.ReadableStream;
    } catch (e) {
      if (isUnreachable(e) || signal?.aborted) throw e;
      throw failed(engineMessage(e), e);
    }
    let failure: string | undefined;
    await readEngineStream(
      stream,
      (event) => {
        failure ??= eventError(event);
      },
      signal,
    );
    if (failure !== undefined) throw failed(maskSecrets(failure));
  }

  /** sha256:… from a name@digest reference, else the image's repo digest for its name. */
  private async imageDigest(docker: Docker, image: string): Promise<string | undefined> {
    const at = image.indexOf('@');
    if (at >= 0) return image.slice(at + 1);
    try {
      const info = await docker.getImage(image).inspect();
      return repoDigest(info.RepoDigests, image);
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }

  private async createAndStart(
    docker: Docker,
    target: DockerHostTarget,
    name: string,
    image: string,
    labels: Record<string, string>,
    started: Started[],
    finalName: string,
  ): Promise<string> {
    const portBindings: Record<string, { HostIp?: string; HostPort: string }[]> = {};
    const exposed: Record<string, object> = {};
    if (this.usesPorts(target)) {
      for (const spec of target.ports) {
        const p = parsePortSpec(spec);
        const key = `${p.containerPort}/${p.protocol}`;
        exposed[key] = {};
        const binding = { ...(p.hostIp ? { HostIp: p.hostIp } : {}), HostPort: p.hostPort ?? '' };
        portBindings[key] = [...(portBindings[key] ?? []), binding];
      }
    }
    let container: Docker.Container;
    try {
      container = await docker.createContainer({
        name,
        Image: image,
        Env: Object.entries(target.env).map(([k, v]) => `${k}=${v}`),
        Labels: labels,
        ExposedPorts: exposed,
        HostConfig: {
          RestartPolicy: { Name: 'unless-stopped' },
          Binds: [...target.volumes],
          PortBindings: portBindings,
          NetworkMode: this.networkOf(target),
          ...(target.init ? { Init: true } : {}),
        },
      });
    } catch (e) {
      if (statusCode(e) === 404)
        throw new DockhandError('docker', `${image} is not on the Docker engine at ${redactHost(target.host)}`, {
          cause: e,
          hint: 'Deploy with a pull from the registry.',
        });
      throw new DockhandError(
        'docker',
        `creating the container ${name} on ${redactHost(target.host)}: ${engineMessage(e)}`,
        { cause: e },
      );
    }
    started.push({ id: container.id, name, finalName });
    try {
      await container.start();
    } catch (e) {
      throw new Unhealthy(container.id, `it did not start: ${engineMessage(e)}`);
    }
    return container.id;
  }

  /** One deadline for all; the first container that fails ends the wait. */
  private async waitAllHealthy(
    docker: Docker,
    target: DockerHostTarget,
    containers: readonly Started[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const deadline = this.clock.now().getTime() + this.healthTimeoutMs;
    const since = this.clock.now().getTime();
    for (const c of containers) await this.waitHealthy(docker, target, c.id, since, deadline, signal);
  }

  private async waitHealthy(
    docker: Docker,
    target: DockerHostTarget,
    id: string,
    since: number,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let waiting = 'no health signal yet';
    let restarts: number | undefined;
    for (;;) {
      signal?.throwIfAborted();
      const info = await docker.getContainer(id).inspect();
      const state = info.State;
      if (state.Status === 'exited' || state.Status === 'dead' || state.Status === 'removing')
        throw new Unhealthy(id, `it exited with code ${state.ExitCode}${state.Error ? ` (${state.Error})` : ''}`);
      restarts ??= info.RestartCount;
      if (state.Restarting || info.RestartCount > restarts)
        throw new Unhealthy(id, `it exited with code ${state.ExitCode} and was restarted`);
      const now = this.clock.now().getTime();
      if (hasHealthcheck(info)) {
        const health = state.Health;
        const output = lastHealthOutput(health);
        if (health?.Status === 'healthy') return;
        if (health?.Status === 'unhealthy')
          throw new Unhealthy(id, `its HEALTHCHECK failed${output ? `: ${output}` : ''}`);
        waiting = output ? `HEALTHCHECK: ${output}` : 'its HEALTHCHECK has not passed yet';
      } else {
        const probe = target.healthcheck ? this.probeAddress(target, info) : undefined;
        if (probe && target.healthcheck) {
          if (await this.probe(probe.address, probe.port, target.healthcheck.path)) return;
          waiting = `nothing answered ${target.healthcheck.path ? `GET ${target.healthcheck.path} on ` : ''}${probe.address}:${probe.port}`;
        } else if (state.Running && now - since >= this.runningGraceMs) {
          return;
        } else {
          waiting = 'it has not run long enough';
        }
      }
      if (now >= deadline)
        throw new Unhealthy(id, `not healthy within ${Math.round(this.healthTimeoutMs / 1000)} s (${waiting})`);
      await this.clock.sleep(Math.min(this.pollMs, Math.max(1, deadline - now)), signal);
    }
  }

  /**
   * Where target.healthcheck.port is reached from dockhand:
   * - host networking: the port on the engine's machine (127.0.0.1 for a local engine, else publicAddress / the
   *   host part of the engine URL);
   * - a published port: its host port, on 127.0.0.1 (local) or publicAddress / the engine's host name (remote —
   *   dockhand must be allowed through the box's firewall; otherwise use a HEALTHCHECK in the image);
   * - unpublished, local engine: the container's own address on its network;
   * - unpublished, remote engine: not reachable from here → undefined (the "running for a while" rule applies).
   */
  private probeAddress(
    target: DockerHostTarget,
    info: Docker.ContainerInspectInfo,
  ): { address: string; port: number } | undefined {
    const port = target.healthcheck?.port;
    if (port === undefined) return undefined;
    const local = isLocalEngine(target.host);
    const remote = this.publicAddress(target);
    if (info.HostConfig.NetworkMode === 'host')
      return local ? { address: '127.0.0.1', port } : remote ? { address: remote, port } : undefined;
    const binding = info.NetworkSettings.Ports?.[`${port}/tcp`]?.find((b) => b.HostPort);
    if (binding) {
      const hostPort = Number(binding.HostPort);
      if (!local) return remote ? { address: remote, port: hostPort } : undefined;
      const ip =
        binding.HostIp && binding.HostIp !== '0.0.0.0' && binding.HostIp !== '::' ? binding.HostIp : '127.0.0.1';
      return { address: ip, port: hostPort };
    }
    if (!local) return undefined;
    const address = Object.values(info.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
    return address ? { address, port } : undefined;
  }

  /** Removes what a failed deploy/scale started, restarts what it stopped, and says why in a HostDeployError. */
  private async undo(
    docker: Docker,
    target: DockerHostTarget,
    error: unknown,
    started: readonly Started[],
    restore: readonly string[],
    progress: (phase: HostPhase, detail?: string) => void,
  ): Promise<unknown> {
    const failing = error instanceof Unhealthy ? error.containerId : started.at(-1)?.id;
    const lines = failing ? await this.tail(docker, failing).catch(() => []) : [];
    await this.removeAll(
      docker,
      started.map((s) => s.id),
    ).catch(() => {});
    let restoreFailure = '';
    if (restore.length > 0) {
      progress('restoring_old');
      for (const id of restore) {
        try {
          await docker.getContainer(id).start();
        } catch (e) {
          if (statusCode(e) !== 304) restoreFailure = `; starting the old container again failed: ${engineMessage(e)}`;
        }
      }
    }
    if (error instanceof Unhealthy)
      return new HostDeployError(
        `${this.label(target)}: the new container did not become healthy: ${maskSecrets(error.message)}${restoreFailure}`,
        lines,
        restoreFailure ? { hint: `Start the old container by hand: docker start ${target.container}` } : {},
      );
    if (restoreFailure && error instanceof Error) error.message += restoreFailure;
    return error;
  }

  /** The last 20 lines a container wrote (stdout and stderr), masked. */
  private async tail(docker: Docker, id: string): Promise<string[]> {
    const container = docker.getContainer(id);
    const info = await container.inspect();
    const body = await container.logs({ stdout: true, stderr: true, tail: 20 });
    return chunkLines(demultiplex(toBuffer(body), info.Config.Tty))
      .slice(-20)
      .map((l) => maskSecrets(l));
  }

  private async stop(docker: Docker, id: string): Promise<void> {
    try {
      await docker.getContainer(id).stop({ t: this.stopSeconds });
    } catch (e) {
      const code = statusCode(e);
      if (code !== 304 && code !== 404) throw e; // already stopped / already gone
    }
  }

  private async removeAll(docker: Docker, ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      await this.stop(docker, id);
      try {
        await docker.getContainer(id).remove({ force: true, v: false });
      } catch (e) {
        const code = statusCode(e);
        if (code !== 404 && code !== 409) throw e; // gone, or removal already in progress
      }
    }
  }

  /**
   * The network on which the service's containers share one DNS alias (the target's `container`): a user-defined
   * network. The engine's default bridge and host networking have no aliases; there the names alone are resolved.
   */
  private aliasNetwork(target: DockerHostTarget): string | undefined {
    const network = this.networkOf(target);
    return ['bridge', 'default', 'host', 'none'].includes(network) || network.startsWith('container:')
      ? undefined
      : network;
  }

  /**
   * Makes a healthy container answer the service's alias. The engine cannot add an alias to a connected
   * endpoint, so the container leaves the network and joins it again with the alias (it gets a new address; its
   * listening sockets stay). A new container is started without the alias so that nobody is sent to it before it is
   * healthy.
   */
  private async joinAlias(docker: Docker, target: DockerHostTarget, id: string): Promise<void> {
    const network = this.aliasNetwork(target);
    if (!network) return;
    const net = docker.getNetwork(network);
    await net.disconnect({ Container: id, Force: true });
    await net.connect({ Container: id, EndpointConfig: { Aliases: [target.container] } });
  }

  /**
   * Removes containers that serve no longer: each leaves the alias network first (so the name stops resolving to
   * it while its replacements still answer), then stops and is removed.
   */
  private async retireAll(docker: Docker, target: DockerHostTarget, ids: readonly string[]): Promise<void> {
    const network = this.aliasNetwork(target);
    for (const id of ids) {
      if (network)
        await docker
          .getNetwork(network)
          .disconnect({ Container: id, Force: true })
          .catch(() => {}); // not connected (stopped, or adopted from elsewhere): nothing resolves to it
      await this.removeAll(docker, [id]);
    }
  }

  private async rename(docker: Docker, id: string, name: string): Promise<void> {
    await docker.getContainer(id).rename({ name });
  }

  private async describe(docker: Docker, ids: readonly string[]): Promise<HostContainer[]> {
    const images = new Map<string, string[]>();
    const out: HostContainer[] = [];
    for (const id of ids) {
      let info: Docker.ContainerInspectInfo;
      try {
        info = await docker.getContainer(id).inspect();
      } catch (e) {
        if (statusCode(e) === 404) continue; // removed meanwhile
        throw e;
      }
      const labels = Object.fromEntries(
        Object.entries(info.Config.Labels ?? {}).filter(([k]) => k.startsWith('dockhand.')),
      );
      let digest = labels[LABELS.digest];
      if (!digest) {
        let repoDigests = images.get(info.Image);
        if (!repoDigests) {
          repoDigests = await docker
            .getImage(info.Image)
            .inspect()
            .then((i) => i.RepoDigests ?? [])
            .catch(() => []);
          images.set(info.Image, repoDigests);
        }
        digest = repoDigest(repoDigests, info.Config.Image);
      }
      const running = info.State.Running;
      out.push({
        id: info.Id,
        name: containerName(info.Name),
        image: info.Config.Image,
        digest,
        state: info.State.Status,
        health: toHealth(info.State.Health?.Status),
        startedAt: validDate(info.State.StartedAt),
        restartCount: info.RestartCount,
        exitCode: running ? undefined : info.State.ExitCode,
        labels,
        ports: describePorts(info.NetworkSettings.Ports),
        addresses: Object.entries(info.NetworkSettings.Networks ?? {}).flatMap(([network, n]) =>
          n.IPAddress ? [{ network, ip: n.IPAddress }] : [],
        ),
      });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  }
}

/** An old container that stepped aside for its replacement: `<name>-old-<deployment>`. */
const OLD_NAME = /-old-[a-z0-9]+$/;

/** A container a deploy set beside a final name: `<name>-next-<deployment>` (new) or `<name>-old-<deployment>`. */
const ASIDE_NAME = /^(.+)-(next|old)-[a-z0-9]+$/;

const repoDigest = (repoDigests: readonly string[] | undefined, image: string): string | undefined => {
  const { name } = splitImageRef(image);
  const all = repoDigests ?? [];
  const match = all.find((d) => d.slice(0, d.indexOf('@')) === name) ?? all[0];
  const at = match?.indexOf('@') ?? -1;
  return match && at >= 0 ? match.slice(at + 1) : undefined;
};

const lastHealthOutput = (health: Docker.ContainerInspectInfo['State']['Health']): string => {
  const last = health?.Log?.at(-1);
  if (!last) return '';
  const text = maskSecrets(last.Output.trim().split('\n').slice(-3).join(' / '));
  return text ? `${text} (exit code ${last.ExitCode})` : `exit code ${last.ExitCode}`;
};

const toBuffer = (body: unknown): Buffer =>
  Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.alloc(0);

const unreachableHint = (host: string): string => {
  if (/^(unix|npipe):/i.test(host)) return 'Is the Docker engine running there, and may dockhand use its socket?';
  if (/^ssh:/i.test(host))
    return 'Check that dockhand can ssh to the host (sshKey in dockhand.yml, or an agent at SSH_AUTH_SOCK) and that docker is installed there.';
  return 'Check the address, that the engine listens on TCP there, and its TLS files (tls in dockhand.yml, or DOCKER_CERT_PATH).';
};
