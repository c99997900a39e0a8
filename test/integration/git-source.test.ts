// GitSourceFetcher against a real git CLI and a fixture repository (file:// remote, so git uses the same
// upload-pack protocol as with a server): checkout by branch, tag, full and short SHA; refused and missing refs
// leave no temporary directory behind; a local directory; commits between two SHAs.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSourceFetcher, redactUrl } from '../../src/adapters/git/git-source.ts';
import { DockhandError } from '../../src/errors.ts';
import { type BusyboxGitRepo, git, HOST_BUSYBOX, makeBusyboxGitRepo } from '../support/docker.ts';

const commit = async (repo: string, file: string, content: string, message: string): Promise<string> => {
  await writeFile(join(repo, file), content);
  await git(repo, 'add', '-A');
  await git(repo, 'commit', '-q', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
};

const rejection = async (promise: Promise<unknown>): Promise<DockhandError> => {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(DockhandError);
    return e as DockhandError;
  }
  throw new Error('expected a rejection');
};

describe.skipIf(!existsSync(HOST_BUSYBOX))('GitSourceFetcher', () => {
  let fixture: BusyboxGitRepo;
  let url: string;
  let parent: string;
  let fetcher: GitSourceFetcher;
  const shas: string[] = [];

  beforeAll(async () => {
    fixture = await makeBusyboxGitRepo({ message: 'first: busybox fixture', files: { VERSION: '1\n' } });
    url = `file://${fixture.path}`;
    shas.push(fixture.sha);
    shas.push(await commit(fixture.path, 'VERSION', '2\n', 'second: bump to 2'));
    await git(fixture.path, 'tag', '-a', 'v2.0.0', '-m', 'release 2');
    await git(fixture.path, 'branch', 'feature/x', shas[0]!);
    shas.push(await commit(fixture.path, 'VERSION', '3\n', 'third: bump to 3'));
    parent = await mkdtemp(join(tmpdir(), 'dockhand-git-test-'));
    fetcher = new GitSourceFetcher({ tmpDir: parent });
  });

  afterAll(async () => {
    await fixture?.cleanup();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  const leftovers = async () => readdir(parent);

  it('checks out a branch (its newest commit, shallow)', async () => {
    const checkout = await fetcher.checkout({ git: url, ref: 'main' });
    try {
      expect(checkout.commitSha).toBe(shas[2]);
      expect(checkout.subject).toBe('third: bump to 3');
      expect(await readFile(join(checkout.dir, 'VERSION'), 'utf8')).toBe('3\n');
      expect(existsSync(join(checkout.dir, 'Dockerfile'))).toBe(true);
      expect(await git(checkout.dir, 'rev-list', '--count', 'HEAD')).toBe('1'); // depth 1
      expect(checkout.dir.startsWith(parent)).toBe(true);
    } finally {
      await checkout.cleanup();
    }
    expect(existsSync(checkout.dir)).toBe(false);
    expect(await leftovers()).toEqual([]);
  });

  it('checks out another branch with a slash in its name', async () => {
    const checkout = await fetcher.checkout({ git: url, ref: 'feature/x' });
    await checkout.cleanup();
    expect(checkout.commitSha).toBe(shas[0]);
    expect(checkout.subject).toBe('first: busybox fixture');
  });

  it('checks out an annotated tag (the commit it points to)', async () => {
    const checkout = await fetcher.checkout({ git: url, ref: 'v2.0.0' });
    try {
      expect(checkout.commitSha).toBe(shas[1]);
      expect(checkout.subject).toBe('second: bump to 2');
      expect(await readFile(join(checkout.dir, 'VERSION'), 'utf8')).toBe('2\n');
    } finally {
      await checkout.cleanup();
    }
  });

  it('checks out a full SHA', async () => {
    const checkout = await fetcher.checkout({ git: url, ref: shas[0]! });
    try {
      expect(checkout.commitSha).toBe(shas[0]);
      expect(await readFile(join(checkout.dir, 'VERSION'), 'utf8')).toBe('1\n');
    } finally {
      await checkout.cleanup();
    }
  });

  it('checks out a short SHA (found in the default branch’s recent history)', async () => {
    const checkout = await fetcher.checkout({ git: url, ref: shas[1]!.slice(0, 8) });
    try {
      expect(checkout.commitSha).toBe(shas[1]);
      expect(checkout.subject).toBe('second: bump to 2');
    } finally {
      await checkout.cleanup();
    }
    expect(await leftovers()).toEqual([]);
  });

  it('reports a ref that does not exist, naming the URL without credentials, and leaves nothing behind', async () => {
    const error = await rejection(fetcher.checkout({ git: url, ref: 'no-such-branch' }));
    expect(error.code).toBe('git');
    expect(error.message).toBe(`ref "no-such-branch" not found in ${url}`);
    const short = await rejection(fetcher.checkout({ git: url, ref: 'deadbeef' }));
    expect(short.message).toBe(`ref "deadbeef" not found in ${url}`);
    const full = await rejection(fetcher.checkout({ git: url, ref: 'f'.repeat(40) }));
    expect(full.message).toContain('not found in');
    expect(await leftovers()).toEqual([]);
  });

  it('fails clearly for a repository that does not exist, without leaking its password', async () => {
    const error = await rejection(
      fetcher.checkout({ git: 'https://deploy:s3cr3t-pass@127.0.0.1:9/acme/api.git', ref: 'main' }),
    );
    expect(error.code).toBe('git');
    expect(error.message).toContain('could not fetch from https://deploy:***@127.0.0.1:9/acme/api.git');
    expect(error.message).not.toContain('s3cr3t');
    expect(await leftovers()).toEqual([]);
  });

  it('refuses a ref that starts with "-" before spawning git or creating a directory', async () => {
    const noGit = new GitSourceFetcher({ tmpDir: parent, gitBinary: '/nonexistent/git' });
    const error = await rejection(noGit.checkout({ git: url, ref: '--upload-pack=touch /tmp/pwned' }));
    expect(error.code).toBe('invalid');
    const urlError = await rejection(noGit.checkout({ git: '--upload-pack=x', ref: 'main' }));
    expect(urlError.code).toBe('invalid');
    expect(await leftovers()).toEqual([]);
  });

  it('honours an aborted signal', async () => {
    const error = await fetcher.checkout({ git: url, ref: 'main' }, AbortSignal.abort()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(await leftovers()).toEqual([]);
  });

  it('uses a local directory as is: the work tree’s HEAD, or a content hash', async () => {
    const inRepo = await fetcher.checkout({ path: fixture.path });
    expect(inRepo.dir).toBe(fixture.path);
    expect(inRepo.commitSha).toBe(shas[2]);
    expect(inRepo.subject).toBe('(local directory)');
    await inRepo.cleanup();
    expect(existsSync(fixture.path)).toBe(true);

    const plain = await mkdtemp(join(tmpdir(), 'dockhand-plain-'));
    try {
      await writeFile(join(plain, 'a.txt'), 'a');
      const first = await fetcher.checkout({ path: plain });
      expect(first.commitSha).toMatch(/^[0-9a-f]{40}$/);
      expect((await fetcher.checkout({ path: plain })).commitSha).toBe(first.commitSha);
      await writeFile(join(plain, 'b.txt'), 'b');
      expect((await fetcher.checkout({ path: plain })).commitSha).not.toBe(first.commitSha);
    } finally {
      await rm(plain, { recursive: true, force: true });
    }
    const missing = await rejection(fetcher.checkout({ path: join(plain, 'gone') }));
    expect(missing.code).toBe('config');
  });

  it('lists the commits between two SHAs, newest first, with the total', async () => {
    const all = await fetcher.commitsBetween({ git: url }, shas[0]!, shas[2]!, 10);
    expect(all).toEqual({
      total: 2,
      commits: [
        { sha: shas[2], author: 'Dockhand Test', subject: 'third: bump to 3' },
        { sha: shas[1], author: 'Dockhand Test', subject: 'second: bump to 2' },
      ],
    });
    const limited = await fetcher.commitsBetween({ git: url }, shas[0]!.slice(0, 10), shas[2]!, 1);
    expect(limited?.total).toBe(2);
    expect(limited?.commits.map((c) => c.sha)).toEqual([shas[2]]);
    expect(await fetcher.commitsBetween({ git: url }, shas[2]!, shas[2]!, 5)).toEqual({ commits: [], total: 0 });
    expect(await fetcher.commitsBetween({ git: url }, 'a'.repeat(40), shas[2]!, 5)).toBeUndefined();
    expect(await fetcher.commitsBetween({ git: url }, '--all', shas[2]!, 5)).toBeUndefined();
    expect(await leftovers()).toEqual([]);
  });
});

describe('redactUrl', () => {
  it('hides passwords and bare tokens, keeps the rest', () => {
    expect(redactUrl('https://user:pa55@github.com/acme/api.git')).toBe('https://user:***@github.com/acme/api.git');
    expect(redactUrl('https://ghp_token123@github.com/acme/api.git')).toBe('https://***@github.com/acme/api.git');
    expect(redactUrl('ssh://git@github.com/acme/api.git')).toBe('ssh://git@github.com/acme/api.git');
    expect(redactUrl('git@github.com:acme/api.git')).toBe('git@github.com:acme/api.git');
    expect(redactUrl('https://github.com/acme/api.git')).toBe('https://github.com/acme/api.git');
  });
});
