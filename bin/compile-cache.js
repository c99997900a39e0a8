/**
 * Node's compile cache for dockhand's TypeScript sources (and its dependencies' JavaScript).
 *
 * Node 24 runs the .ts sources by stripping their types with a WebAssembly build of swc, which it loads on the
 * first .ts file: about 18–20 MiB of RSS for the life of the process, and time at every start. With the compile
 * cache, a source file already stripped once (same content, same Node) is read from the cache instead, and the
 * stripper is never loaded. This file is plain JavaScript so that enabling the cache strips nothing.
 *
 *   node --import ./bin/compile-cache.js src/main.ts   (`npm start`) enables the cache before the first source is
 *       loaded: in NODE_COMPILE_CACHE when set, else Node's default directory under the system's temp directory.
 *       The first start fills it; every later start uses it. A changed file is stripped again (entries are keyed by
 *       content), so a stale entry is never used.
 *   node <V8 flags> bin/compile-cache.js               (the Dockerfile) fills NODE_COMPILE_CACHE with every source
 *       file, so that the image starts with it full. Node keeps one cache per set of V8 flags (some flags, e.g.
 *       --heap-growing-percent, change it): give it the flags dockhand will start with, or the start finds the cache
 *       empty and loads the stripper after all.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { constants, enableCompileCache, flushCompileCache } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const enabled = enableCompileCache();

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { ENABLED, ALREADY_ENABLED } = constants.compileCacheStatus;
  if ((enabled.status !== ENABLED && enabled.status !== ALREADY_ENABLED) || !process.env.NODE_COMPILE_CACHE) {
    process.stderr.write(`set NODE_COMPILE_CACHE to the directory to fill (${enabled.message ?? enabled.status})\n`);
    process.exit(1);
  }
  const root = fileURLToPath(new URL('../', import.meta.url));
  const main = join(root, 'src', 'main.ts');
  const sources = ['src', 'commands'].flatMap((dir) =>
    readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join(root, dir, name)),
  );
  // Every module but the entry point has no effect at import (the store's drivers, the emulator… are only loaded).
  for (const file of sources.filter((f) => f !== main)) await import(pathToFileURL(file).href);
  flushCompileCache();
  // The entry point runs as soon as it is loaded: with a PORT it refuses, it exits at once, its source cached.
  // With this process's V8 flags, which are dockhand's (see above).
  const entry = spawnSync(process.execPath, [...process.execArgv, main], {
    env: { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE, PORT: 'none' },
    encoding: 'utf8',
  });
  if (!entry.stderr.includes('the environment is not usable')) {
    process.stderr.write(`src/main.ts did not stop as expected: ${entry.stderr}\n`);
    process.exit(1);
  }
  process.stdout.write(`compile cache filled in ${enabled.directory} (${sources.length} sources)\n`);
}
