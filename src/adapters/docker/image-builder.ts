/**
 * ImageBuilder on dockerode (DESIGN.md §3, src/adapters/docker/): sends the build context as a tar stream that
 * honours `.dockerignore` (the Dockerfile and .dockerignore are always sent), builds with the classic builder
 * (`version: '1'`: a JSON stream with "Step n/m : …" lines, no BuildKit session needed), then tags the remaining
 * tags. Failures arrive inside the 200 response as `errorDetail` lines; they become BuildFailedError naming the
 * step, with the last lines of that step's output (secrets masked).
 */
import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type DockerIgnore from '@balena/dockerignore';
import type Docker from 'dockerode';
import { BuildFailedError, DockhandError } from '../../errors.ts';
import { maskSecrets } from '../../logger.ts';
import type { BuildEvent, BuildRequest, ImageBuilder } from '../../ports.ts';
import {
  type EngineEvent,
  engineErrorMessage,
  eventError,
  isConnectionError,
  readEngineStream,
  splitImageRef,
} from './json-stream.ts';

type TarFs = {
  pack(dir: string, opts?: { ignore?: (name: string) => boolean; dereference?: boolean }): NodeJS.ReadableStream;
};
// tar-fs ships no type declarations; load it through require with the small surface used here.
const require = createRequire(import.meta.url);
const tarFs = require('tar-fs') as TarFs;
// @balena/dockerignore (the matcher dockerode itself uses) is CommonJS with `module.exports = factory`, while its
// typings declare a default export; require gives the function both at run time and to the type checker.
const dockerignore = require('@balena/dockerignore') as typeof DockerIgnore.default;

/** Output lines of the failing step kept in BuildFailedError. */
export const FAILURE_OUTPUT_LINES = 20;
const STEP = /^Step (\d+)\/(\d+) : (.*)$/;
/** The classic builder's own bookkeeping, not the step's output. */
const NOISE = /^ ---> |^Removing intermediate container /;
/** Build args whose values are masked in events and errors. */
const SECRET_ARG = /token|secret|passw|pwd|key|auth|credential|private/i;

const toPosix = (p: string): string => p.split(sep).join('/');

/**
 * A tar stream of `contextDir` without the paths `.dockerignore` excludes (Docker's semantics: patterns are
 * anchored at the context root, the last matching pattern wins, `!` re-includes). `alwaysSend` paths (relative,
 * posix) and their parent directories are never excluded.
 */
export const packBuildContext = async (
  contextDir: string,
  alwaysSend: readonly string[],
): Promise<NodeJS.ReadableStream> => {
  const root = resolve(contextDir);
  let rules = '';
  try {
    rules = await readFile(resolve(root, '.dockerignore'), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const patterns = rules
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
  if (patterns.length === 0) return tarFs.pack(root);

  const matcher = dockerignore({ ignorecase: false }).add(patterns);
  const hasExceptions = patterns.some((p) => p.startsWith('!'));
  const keep = new Set(['.dockerignore', ...alwaysSend]);
  const keepDirs = new Set<string>();
  for (const file of keep) {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) keepDirs.add(parts.slice(0, i).join('/'));
  }
  const ignore = (name: string): boolean => {
    const rel = toPosix(relative(root, name));
    if (rel === '' || keep.has(rel) || keepDirs.has(rel)) return false;
    if (!matcher.ignores(rel)) return false;
    // An excluded directory is still walked when an exception ("!dir/keep") might re-include something inside.
    if (hasExceptions) {
      try {
        if (lstatSync(name).isDirectory()) return false;
      } catch {
        return true;
      }
    }
    return true;
  };
  return tarFs.pack(root, { ignore });
};

const FROM = /^FROM\s/i;
const ARG = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?\s*$/i;
const REFERENCE = /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

/**
 * The image a failed `FROM` step tried to pull, with the build arguments it is written with (`FROM ${BASE}`)
 * replaced by the values given or the Dockerfile's `ARG` defaults, so the failure can name both.
 */
const baseImage = async (
  instruction: string,
  request: BuildRequest,
  dockerfile: string,
): Promise<{ image: string; args: string[] } | undefined> => {
  const written = instruction
    .replace(FROM, '')
    .trim()
    .split(/\s+/)
    .find((word) => !word.startsWith('--'));
  if (written === undefined) return undefined;
  const defaults = new Map<string, string>();
  const text = await readFile(resolve(request.contextDir, dockerfile), 'utf8').catch(() => '');
  for (const line of text.split(/\r?\n/)) {
    const m = ARG.exec(line.trim());
    if (m?.[1] && m[2] !== undefined && !defaults.has(m[1])) defaults.set(m[1], m[2].replace(/^["']|["']$/g, ''));
  }
  const args: string[] = [];
  const image = written.replace(REFERENCE, (_all, braced?: string, bare?: string) => {
    const name = (braced ?? bare) as string;
    args.push(name);
    return request.buildArgs[name] ?? defaults.get(name) ?? '';
  });
  return { image: image || written, args: [...new Set(args)] };
};

export class DockerImageBuilder implements ImageBuilder {
  private readonly docker: Docker;

  constructor(docker: Docker) {
    this.docker = docker;
  }

  async build(request: BuildRequest): Promise<{ imageId: string }> {
    const { signal } = request;
    signal?.throwIfAborted();
    const contextDir = resolve(request.contextDir);
    const dockerfile = toPosix(relative(contextDir, resolve(contextDir, request.dockerfile)));
    if (dockerfile.startsWith('../') || dockerfile === '..' || isAbsolute(dockerfile))
      throw new DockhandError('config', `the Dockerfile ${request.dockerfile} is outside the build context`);

    const secrets = Object.entries(request.buildArgs)
      .filter(([k, v]) => SECRET_ARG.test(k) && v.length >= 4)
      .map(([, v]) => v);
    const mask = (text: string): string => {
      let out = text;
      for (const s of secrets) out = out.split(s).join('[REDACTED]');
      return maskSecrets(out);
    };

    const [firstTag, ...otherTags] = request.tags;
    const context = await packBuildContext(contextDir, [dockerfile]);
    let response: NodeJS.ReadableStream;
    try {
      response = await this.docker.buildImage(context, {
        ...(firstTag ? { t: firstTag } : {}),
        dockerfile,
        buildargs: { ...request.buildArgs },
        ...(request.labels ? { labels: { ...request.labels } } : {}),
        rm: true,
        forcerm: true,
        version: '1',
        ...(signal ? { abortSignal: signal } : {}),
      } as Docker.ImageBuildOptions);
    } catch (e) {
      (context as { destroy?: () => void }).destroy?.();
      signal?.throwIfAborted();
      if (isConnectionError(e))
        throw new DockhandError('docker', `cannot reach the Docker engine: ${engineErrorMessage(e)}`, {
          cause: e,
          hint: 'Check DOCKER_HOST and that the engine is running.',
        });
      throw new BuildFailedError(`build failed: ${mask(engineErrorMessage(e))}`, undefined, []);
    }

    const emit = (event: BuildEvent) => {
      try {
        request.onEvent?.(event);
      } catch {
        // a listener's failure must not break the build
      }
    };
    let step: { n: number; total: number; instruction: string } | undefined;
    let stepOutput: string[] = [];
    let partial = '';
    let imageId: string | undefined;
    let failure: string | undefined;

    const outputLine = (raw: string) => {
      const cr = raw.lastIndexOf('\r');
      const line = mask((cr >= 0 ? raw.slice(cr + 1) : raw).trimEnd());
      if (line.length === 0) return;
      const m = STEP.exec(line);
      if (m) {
        step = { n: Number(m[1]), total: Number(m[2]), instruction: m[3] ?? '' };
        stepOutput = [];
        emit({ type: 'step', step: step.n, total: step.total, instruction: step.instruction });
        return;
      }
      if (NOISE.test(line)) return;
      stepOutput.push(line);
      if (stepOutput.length > FAILURE_OUTPUT_LINES * 4) stepOutput = stepOutput.slice(-FAILURE_OUTPUT_LINES);
      emit({ type: 'output', line });
    };
    const flushPartial = () => {
      if (partial.length > 0) outputLine(partial);
      partial = '';
    };

    const onEvent = (event: EngineEvent) => {
      const error = eventError(event);
      if (error !== undefined) {
        flushPartial();
        failure ??= error;
        return;
      }
      if (event.aux?.ID) imageId = event.aux.ID;
      if (typeof event.stream === 'string') {
        partial += event.stream;
        const lines = partial.split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) outputLine(l);
      }
    };

    await readEngineStream(response, onEvent, signal);
    flushPartial();

    if (failure !== undefined) {
      const output = stepOutput.slice(-FAILURE_OUTPUT_LINES);
      const message = mask(failure);
      const base =
        step && FROM.test(step.instruction) ? await baseImage(step.instruction, request, dockerfile) : undefined;
      if (step && base) {
        const remedy =
          base.args.length > 0
            ? `set the build argument ${base.args.join(' or ')} to an image this Docker engine can pull or already has`
            : `change FROM in ${dockerfile}, or make ${base.image} pullable by this Docker engine`;
        throw new BuildFailedError(
          `step ${step.n}/${step.total} failed: could not pull the base image ${mask(base.image)} (${remedy}): ${message}`,
          step.instruction,
          output,
          `To build from another base image, ${remedy}.`,
        );
      }
      if (step)
        throw new BuildFailedError(
          `step ${step.n}/${step.total} failed: ${step.instruction}: ${message}`,
          step.instruction,
          output,
        );
      throw new BuildFailedError(`build failed: ${message}`, undefined, output);
    }

    try {
      if (!imageId) {
        if (!firstTag) throw new BuildFailedError('build ended without an image id', step?.instruction, []);
        imageId = (await this.docker.getImage(firstTag).inspect()).Id;
      }
      for (const ref of otherTags) {
        const { name, tag } = splitImageRef(ref);
        await this.docker.getImage(imageId).tag({ repo: name, tag: tag ?? 'latest' });
      }
    } catch (e) {
      if (e instanceof DockhandError) throw e;
      throw new DockhandError('docker', `tagging the built image failed: ${engineErrorMessage(e)}`, { cause: e });
    }
    return { imageId };
  }
}
