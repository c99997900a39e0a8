import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const cache = mkdtempSync(join(tmpdir(), 'dockhand-compile-cache-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));

/** Says on stderr, at exit, whether Node loaded its TypeScript stripper (amaro, about 20 MiB) in this process. */
const reportStripper =
  'data:text/javascript,process.on("exit",()=>process.stderr.write("STRIPPER "+process.moduleLoadList.some((m)=>m.includes("amaro"))+"\\n"))';

/** `node --import ./bin/compile-cache.js src/main.ts` as `npm start` runs it, with a PORT it refuses (exits at once). */
const startWithCache = () => {
  const run = spawnSync(
    process.execPath,
    ['--import', reportStripper, '--import', './bin/compile-cache.js', 'src/main.ts'],
    { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: cache, PORT: 'none' } },
  );
  expect(run.stderr).toContain('the environment is not usable');
  return /STRIPPER (true|false)/.exec(run.stderr)?.[1];
};

// Each case starts Node a few times, loading dockhand's sources: seconds on a busy machine.
describe('the compile cache spares every start but the first the TypeScript stripper', { timeout: 60_000 }, () => {
  it('loads the stripper on a start with an empty cache, and not on the next one', () => {
    expect(startWithCache()).toBe('true');
    expect(startWithCache()).toBe('false');
  });

  it('fills the cache with every source (as the Dockerfile does), lazily loaded ones included', () => {
    const fill = spawnSync(process.execPath, ['bin/compile-cache.js'], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: cache },
    });
    expect(fill.stderr).toBe('');
    expect(fill.stdout).toMatch(/^compile cache filled in /);
    const lazy = spawnSync(
      process.execPath,
      [
        '--import',
        reportStripper,
        '--input-type=module',
        '-e',
        "await import('./src/adapters/store/postgres-driver.ts')",
      ],
      { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: cache } },
    );
    expect(lazy.stderr).toContain('STRIPPER false');
  });

  it("fills the cache for the V8 flags it is run with, src/main.ts included (npm start's, in the image)", () => {
    // V8 flags such as --heap-growing-percent select a cache of their own: filled without them, it serves no start.
    const flags = ['--max-semi-space-size=8', '--heap-growing-percent=20'];
    const own = mkdtempSync(join(tmpdir(), 'dockhand-compile-cache-flags-'));
    try {
      const fill = spawnSync(process.execPath, [...flags, 'bin/compile-cache.js'], {
        cwd: root,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: own },
      });
      expect(fill.stderr).toBe('');
      const run = spawnSync(
        process.execPath,
        [...flags, '--import', reportStripper, '--import', './bin/compile-cache.js', 'src/main.ts'],
        { cwd: root, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: own, PORT: 'none' } },
      );
      expect(run.stderr).toContain('the environment is not usable');
      expect(run.stderr).toContain('STRIPPER false');
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('refuses to fill without NODE_COMPILE_CACHE, the directory to fill', () => {
    const fill = spawnSync(process.execPath, ['bin/compile-cache.js'], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(fill.status).toBe(1);
    expect(fill.stderr).toContain('set NODE_COMPILE_CACHE');
  });
});
