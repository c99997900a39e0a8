/**
 * The local console's example (examples/dockhand.local.yml) as one checkout sees it. Two people on one Docker engine
 * must not share (and so replace or remove) each other's example: its container and image names carry an id
 * derived from the checkout's path, DOCKHAND_LOCAL_ID, which the example config interpolates. `dockhand local
 * clean` removes exactly what the example left on the engine for this checkout.
 */
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { LABELS } from '../adapters/docker/host-runtime.ts';
import { type Env, loadConfig } from '../config/load.ts';
import { DockhandError } from '../errors.ts';

/** The bundled config used when DOCKHAND_CONFIG is not set. */
export const LOCAL_CONFIG_PATH = fileURLToPath(new URL('../../examples/dockhand.local.yml', import.meta.url));

/** The directory of this checkout (where package.json is). */
export const CHECKOUT_DIR = fileURLToPath(new URL('../../', import.meta.url));

const ID_PATTERN = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** Eight hex digits of the checkout's real path: stable across runs, different for another checkout. */
export const checkoutId = (dir: string = CHECKOUT_DIR): string => {
  let path = dir;
  try {
    path = realpathSync(dir);
  } catch {
    // A path that cannot be resolved still names this checkout.
  }
  return createHash('sha256').update(path.replace(/\/+$/, '')).digest('hex').slice(0, 8);
};

/** DOCKHAND_LOCAL_ID when set (it must fit container and image names), else the checkout's id. */
export const localId = (env: Env, dir?: string): string => {
  const given = env.DOCKHAND_LOCAL_ID?.trim();
  if (!given) return checkoutId(dir);
  if (!ID_PATTERN.test(given)) {
    throw new DockhandError(
      'invalid',
      `DOCKHAND_LOCAL_ID: "${given.slice(0, 40)}" cannot name a container or an image; use 1 to 32 lower-case letters, digits and inner dashes (e.g. alice), or unset it to derive one from the checkout`,
    );
  }
  return given;
};

/** The environment the example config is read with: the caller's, plus DOCKHAND_LOCAL_ID. */
export const exampleEnv = (env: Env, dir?: string): Env => ({ ...env, DOCKHAND_LOCAL_ID: localId(env, dir) });

/** What the example puts on an engine, per Docker-host environment of each service. */
export interface ExampleFootprint {
  host: string;
  service: string;
  environment: string;
  container: string;
  /** The image repository (without tag) it builds and keeps on the engine; undefined when it pushes or only deploys. */
  repository?: string | undefined;
}

export interface ExampleOptions {
  /** The checkout whose id is derived (default: this one). */
  dir?: string;
  /** The config to read (default: the bundled example; tests give their own). */
  configPath?: string;
}

export const exampleFootprint = async (env: Env, options: ExampleOptions = {}): Promise<ExampleFootprint[]> => {
  const config = await loadConfig({ path: options.configPath ?? LOCAL_CONFIG_PATH, env: exampleEnv(env, options.dir) });
  const out: ExampleFootprint[] = [];
  for (const [service, s] of Object.entries(config.services)) {
    for (const [environment, e] of Object.entries(s.environments)) {
      if (e.target.type !== 'docker') continue;
      out.push({
        host: e.target.host,
        service,
        environment,
        container: e.target.container,
        // No registry: the image stays on the engine that built it, which is this one.
        repository: s.source && s.image && s.image.registry === undefined ? s.image.repository : undefined,
      });
    }
  }
  return out;
};

export interface CleanReport {
  id: string;
  containers: string[];
  images: string[];
}

/**
 * Removes this checkout's example containers (found by dockhand's labels: service, environment and this
 * checkout's container name, so a neighbour's are never touched) and the images of its per-checkout repository.
 */
export const cleanExample = async (
  env: Env,
  connect: (host: string) => Docker,
  options: ExampleOptions = {},
): Promise<CleanReport> => {
  const id = localId(env, options.dir);
  const report: CleanReport = { id, containers: [], images: [] };
  for (const f of await exampleFootprint(env, options)) {
    const docker = connect(f.host);
    const labelled = await docker.listContainers({
      all: true,
      filters: {
        label: [
          `${LABELS.service}=${f.service}`,
          `${LABELS.environment}=${f.environment}`,
          `${LABELS.container}=${f.container}`,
        ],
      },
    });
    for (const c of labelled) {
      await docker.getContainer(c.Id).remove({ force: true });
      report.containers.push((c.Names[0] ?? c.Id).replace(/^\//, ''));
    }
    if (!f.repository) continue;
    const images = await docker.listImages({ filters: { reference: [f.repository] } });
    for (const image of images) {
      const tags = (image.RepoTags ?? []).filter((t) => t.startsWith(`${f.repository}:`));
      if (tags.length === 0) continue;
      // Untag ours; the image itself goes when no other name holds it (the engine decides, never forced).
      for (const tag of tags) {
        await docker.getImage(tag).remove();
        report.images.push(tag);
      }
    }
  }
  return report;
};
