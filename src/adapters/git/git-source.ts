/**
 * SourceFetcher on the git CLI (DESIGN.md §3, src/adapters/git/): a shallow fetch of exactly one ref into a fresh
 * temporary directory, or a local directory used as is.
 *
 * git is spawned with execFile and an argument array (never a shell), with `--` before user-supplied operands, refs
 * validated first, `GIT_TERMINAL_PROMPT=0` (a private repository without credentials fails instead of hanging), a
 * timeout and the caller's AbortSignal. SSH keys/known hosts are the operator's business (`GIT_SSH_COMMAND`, ~/.ssh);
 * the environment is passed through untouched. A URL's password never appears in an error message.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { isValidGitRef } from '../../core/grammar.ts';
import { DockhandError, errorMessage } from '../../errors.ts';
import { maskSecrets } from '../../logger.ts';
import type { CommitSummary, SourceCheckout, SourceFetcher } from '../../ports.ts';

export const DEFAULT_GIT_TIMEOUT_MS = 5 * 60_000;
/** How far back a short SHA is looked for on the default branch. */
export const SHORT_SHA_DEPTH = 50;
/** Prefix of the temporary directories (under os.tmpdir()). */
export const CHECKOUT_PREFIX = 'dockhand-src-';
export const HISTORY_PREFIX = 'dockhand-history-';
const LOCAL_SUBJECT = '(local directory)';
const MAX_OUTPUT = 16 * 1024 * 1024;

export interface GitSourceFetcherOptions {
  /** The git executable (default "git" on PATH). */
  gitBinary?: string;
  /** Milliseconds one git command may take (default 5 minutes). */
  timeoutMs?: number;
  /** Parent of the temporary directories (default os.tmpdir()). */
  tmpDir?: string;
  /** Environment for git (default process.env); GIT_TERMINAL_PROMPT=0 is always added. */
  env?: NodeJS.ProcessEnv;
}

/** `https://user:secret@host/x` → `https://user:***@host/x`; a bare token as user (`https://TOKEN@`) is hidden too. */
export const redactUrl = (url: string): string =>
  url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) return `${scheme}${userinfo.slice(0, colon)}:***@`;
    return /^https?:\/\//i.test(scheme) ? `${scheme}***@` : `${scheme}${userinfo}@`;
  });

const HEX_SHA = /^[0-9a-f]{4,64}$/i;
const FULL_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/i;

class GitCommandError extends Error {
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly aborted: boolean;

  constructor(message: string, stderr: string, timedOut: boolean, aborted: boolean) {
    super(message);
    this.name = 'GitCommandError';
    this.stderr = stderr;
    this.timedOut = timedOut;
    this.aborted = aborted;
  }
}

export class GitSourceFetcher implements SourceFetcher {
  private readonly gitBinary: string;
  private readonly timeoutMs: number;
  private readonly tmpDir: string | undefined;
  private readonly env: NodeJS.ProcessEnv;

  constructor(options: GitSourceFetcherOptions = {}) {
    this.gitBinary = options.gitBinary ?? 'git';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
    this.tmpDir = options.tmpDir;
    this.env = { ...(options.env ?? process.env), GIT_TERMINAL_PROMPT: '0' };
  }

  async checkout(
    source: { git: string; ref: string } | { path: string },
    signal?: AbortSignal,
  ): Promise<SourceCheckout> {
    if ('path' in source) return this.localDirectory(source.path);
    const { git: url, ref } = source;
    checkUrl(url);
    if (!isValidGitRef(ref)) throw new DockhandError('invalid', `“${ref}” is not a valid git ref.`);
    signal?.throwIfAborted();

    const dir = await mkdtemp(join(this.tmpDir ?? tmpdir(), CHECKOUT_PREFIX));
    try {
      await this.git(dir, ['init', '-q'], signal);
      let target = 'FETCH_HEAD';
      try {
        await this.git(dir, ['fetch', '-q', '--no-tags', '--depth', '1', '--', url, ref], signal);
      } catch (e) {
        if (!isMissingRef(e) || !HEX_SHA.test(ref)) throw this.fetchError(e, url, ref);
        // A short SHA (or a full one the server will not serve directly): look for it in recent history.
        await this.git(
          dir,
          ['fetch', '-q', '--no-tags', '--depth', String(SHORT_SHA_DEPTH), '--', url, 'HEAD'],
          signal,
        ).catch((e2: unknown) => {
          throw this.fetchError(e2, url, ref);
        });
        target = await this.git(dir, ['rev-parse', '-q', '--verify', `${ref}^{commit}`], signal).catch(() => {
          throw notFound(url, ref);
        });
      }
      await this.git(dir, ['-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', target], signal);
      const commitSha = await this.git(dir, ['rev-parse', 'HEAD'], signal);
      const subject = await this.git(dir, ['log', '-1', '--format=%s'], signal);
      return { dir, commitSha, subject, cleanup: () => removeDir(dir) };
    } catch (e) {
      await removeDir(dir);
      throw this.wrap(e, `checking out ${ref} from ${redactUrl(url)}`);
    }
  }

  async commitsBetween(
    source: { git: string },
    fromSha: string,
    toSha: string,
    limit: number,
  ): Promise<{ commits: CommitSummary[]; total: number } | undefined> {
    checkUrl(source.git);
    if (!HEX_SHA.test(fromSha) || !HEX_SHA.test(toSha)) return undefined;
    const dir = await mkdtemp(join(this.tmpDir ?? tmpdir(), HISTORY_PREFIX));
    try {
      await this.git(dir, ['clone', '-q', '--filter=blob:none', '--no-checkout', '--', source.git, '.']).catch(
        (e: unknown) => {
          throw this.fetchError(e, source.git, undefined);
        },
      );
      const verify = (sha: string) =>
        this.git(dir, ['rev-parse', '-q', '--verify', `${sha}^{commit}`]).then(
          (full) => full,
          () => undefined,
        );
      const from = await verify(fromSha);
      const to = await verify(toSha);
      if (!from || !to) return undefined;
      const total = Number(await this.git(dir, ['rev-list', '--count', `${from}..${to}`]));
      const n = Math.max(0, Math.floor(limit));
      const log =
        n === 0 ? '' : await this.git(dir, ['log', '--format=%H%x09%an%x09%s', '-n', String(n), `${from}..${to}`]);
      const commits = log
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line): CommitSummary => {
          const [sha = '', author = '', ...rest] = line.split('\t');
          return { sha, author, subject: rest.join('\t') };
        });
      return { commits, total };
    } catch (e) {
      throw this.wrap(e, `listing commits of ${redactUrl(source.git)}`);
    } finally {
      await removeDir(dir);
    }
  }

  private async localDirectory(path: string): Promise<SourceCheckout> {
    const dir = resolve(path);
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) throw new DockhandError('config', `source path ${dir} is not a directory`);
    const inside = await this.git(dir, ['rev-parse', '--is-inside-work-tree']).catch(() => 'false');
    let commitSha: string | undefined;
    if (inside === 'true')
      commitSha = await this.git(dir, ['rev-parse', '-q', '--verify', 'HEAD']).catch(() => undefined);
    commitSha ??= await contentHash(dir);
    return { dir, commitSha, subject: LOCAL_SUBJECT, cleanup: async () => {} };
  }

  private git(cwd: string, args: string[], signal?: AbortSignal): Promise<string> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    return new Promise((resolvePromise, reject) => {
      execFile(
        this.gitBinary,
        args,
        { cwd, env: this.env, signal: combined, maxBuffer: MAX_OUTPUT, encoding: 'utf8', windowsHide: true },
        (error, stdout, stderr) => {
          if (!error) {
            resolvePromise(stdout.trim());
            return;
          }
          const aborted = signal?.aborted === true;
          const timedOut = !aborted && timeout.aborted;
          reject(new GitCommandError(`git ${args[0]} failed`, String(stderr ?? ''), timedOut, aborted));
        },
      );
    });
  }

  private fetchError(e: unknown, url: string, ref: string | undefined): unknown {
    if (!(e instanceof GitCommandError) || e.timedOut || e.aborted) return e;
    if (ref !== undefined && isMissingRef(e)) return notFound(url, ref);
    const detail = lastLines(e.stderr, url);
    return new DockhandError('git', `could not fetch from ${redactUrl(url)}${detail ? `: ${detail}` : ''}`, {
      hint: 'Check the repository URL and that dockhand can read it (deploy key, token, GIT_SSH_COMMAND).',
    });
  }

  private wrap(e: unknown, doing: string): unknown {
    if (e instanceof DockhandError) return e;
    if (e instanceof GitCommandError) {
      if (e.aborted) return new DockhandError('git', `${doing}: cancelled`, { cause: e });
      if (e.timedOut)
        return new DockhandError('timeout', `${doing}: git took longer than ${Math.round(this.timeoutMs / 1000)} s`);
      const detail = lastLines(e.stderr, undefined);
      return new DockhandError('git', `${doing}: ${e.message}${detail ? `: ${detail}` : ''}`);
    }
    if (e && typeof e === 'object' && 'code' in e && e.code === 'ENOENT')
      return new DockhandError('git', `${doing}: the git executable was not found`, { hint: 'Install git.' });
    return new DockhandError('git', `${doing}: ${maskSecrets(errorMessage(e))}`, { cause: e });
  }
}

const checkUrl = (url: string): void => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a URL with control characters is refused
  if (url.length === 0 || url.startsWith('-') || /[\x00-\x1f]/.test(url))
    throw new DockhandError('invalid', `“${redactUrl(url)}” is not a git repository URL.`);
};

const notFound = (url: string, ref: string): DockhandError =>
  new DockhandError('git', `ref "${ref}" not found in ${redactUrl(url)}`, {
    hint: FULL_SHA.test(ref)
      ? 'Check the commit exists on the remote (and that the server allows fetching by SHA).'
      : 'Check the branch, tag or commit name.',
  });

const isMissingRef = (e: unknown): boolean =>
  e instanceof GitCommandError &&
  !e.timedOut &&
  !e.aborted &&
  /couldn't find remote ref|not our ref|no such remote ref|unadvertised object|did not match any/i.test(e.stderr);

/** The last meaningful stderr lines of git, with URLs' passwords and secret-looking values masked. */
const lastLines = (stderr: string, url: string | undefined): string => {
  let text = stderr;
  if (url) text = text.split(url).join(redactUrl(url));
  return maskSecrets(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0 && !l.startsWith('hint:'))
      .slice(-3)
      .map((l) => l.replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s'"]+)/gi, (m) => redactUrl(m)))
      .join(' '),
  );
};

const removeDir = (dir: string): Promise<void> =>
  rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});

/** A stable 40-hex id for a directory that is not a git work tree: sha256 over relative paths, sizes and mtimes. */
const contentHash = async (root: string): Promise<string> => {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const lines: string[] = [];
  for (const entry of entries) {
    const abs = join(entry.parentPath, entry.name);
    const rel = relative(root, abs);
    if (rel === '.git' || rel.startsWith(`.git/`)) continue;
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const info = await stat(abs).catch(() => undefined);
    lines.push(`${rel}\t${info?.size ?? -1}\t${info?.mtimeMs ?? -1}`);
  }
  lines.sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 40);
};
