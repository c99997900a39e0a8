// The build context tar: .dockerignore honoured with Docker's semantics, the Dockerfile and .dockerignore always sent.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { packBuildContext } from '../../src/adapters/docker/image-builder.ts';

type TarFs = { extract(dir: string): NodeJS.WritableStream };
const tarFs = createRequire(import.meta.url)('tar-fs') as TarFs;

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const listFiles = async (root: string): Promise<string[]> => {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .sort();
};

const packed = async (files: Record<string, string>, alwaysSend: string[] = ['Dockerfile']): Promise<string[]> => {
  const src = await mkdtemp(join(tmpdir(), 'dockhand-ctx-src-'));
  const out = await mkdtemp(join(tmpdir(), 'dockhand-ctx-out-'));
  dirs.push(src, out);
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(dirname(join(src, rel)), { recursive: true });
    await writeFile(join(src, rel), content);
  }
  await pipeline(await packBuildContext(src, alwaysSend), tarFs.extract(out));
  return listFiles(out);
};

describe('packBuildContext', () => {
  it('sends everything without a .dockerignore', async () => {
    expect(await packed({ Dockerfile: 'FROM scratch', 'a/b.txt': 'b' })).toEqual(['Dockerfile', 'a/b.txt']);
  });

  it('follows .dockerignore: anchored patterns, directories, exceptions', async () => {
    const files = await packed({
      Dockerfile: 'FROM scratch',
      '.dockerignore': '# comment\nnode_modules\n*.log\n!keep.log\nsecret/\ndocs/**\n!docs/keep.md\n.git\n',
      'node_modules/x/index.js': 'x',
      'a.log': 'a',
      'keep.log': 'k',
      'sub/a.log': 'not matched: patterns are anchored at the root',
      'secret/key.pem': 'k',
      'docs/a.md': 'a',
      'docs/keep.md': 'k',
      'src/main.ts': 'm',
      '.git/HEAD': 'ref',
    });
    expect(files).toEqual(['.dockerignore', 'Dockerfile', 'docs/keep.md', 'keep.log', 'src/main.ts', 'sub/a.log']);
  });

  it('always sends the Dockerfile and .dockerignore, even when ignored or in an ignored directory', async () => {
    const files = await packed(
      {
        'build/Dockerfile': 'FROM scratch',
        'build/other': 'o',
        '.dockerignore': 'build\n.dockerignore\nDockerfile\n',
        'app.txt': 'a',
      },
      ['build/Dockerfile'],
    );
    expect(files).toEqual(['.dockerignore', 'app.txt', 'build/Dockerfile']);
  });
});
