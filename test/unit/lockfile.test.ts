// `npm ci` (CI, the Dockerfile, a fresh clone) refuses a lockfile that lacks a package npm would install, on any
// platform: optional platform packages (Biome's, for one) must be listed even when this machine never installs
// them. This checks the committed lock the way npm resolves it, without the network.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type LockEntry = {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  devDependencies?: Record<string, string>;
};
type Lock = { lockfileVersion: number; packages: Record<string, LockEntry> };
type Manifest = Pick<LockEntry, 'dependencies' | 'devDependencies' | 'optionalDependencies'>;

const read = <T>(file: string): T => JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')) as T;

/** The lock path npm would find `name` at when required from `from` (Node's resolution: nearest node_modules up). */
const resolve = (packages: Lock['packages'], from: string, name: string): string | undefined => {
  let dir = from;
  for (;;) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return undefined;
    const up = dir.lastIndexOf('/node_modules/');
    dir = up === -1 ? '' : dir.slice(0, up);
  }
};

/** Every dependency some lock entry names that the lock does not hold: what `npm ci` reports as "Missing". */
const missingFromLock = (lock: Lock): string[] => {
  const missing = new Set<string>();
  for (const [path, entry] of Object.entries(lock.packages)) {
    const names = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((n) => !entry.peerDependenciesMeta?.[n]?.optional),
      ...(path === '' ? Object.keys(entry.devDependencies ?? {}) : []),
    ];
    for (const name of names) {
      if (!resolve(lock.packages, path, name)) missing.add(`${name} (needed by ${path || 'the root'})`);
    }
  }
  return [...missing].sort();
};

describe('package-lock.json', () => {
  const lock = read<Lock>('package-lock.json');
  const manifest = read<Manifest>('package.json');

  it('records the dependencies package.json declares, with the same ranges', () => {
    const root = lock.packages[''];
    expect(lock.lockfileVersion).toBe(3);
    expect(root?.dependencies).toEqual(manifest.dependencies);
    expect(root?.devDependencies).toEqual(manifest.devDependencies);
  });

  it('lists every package npm ci would install on any platform, optional platform binaries included', () => {
    expect(missingFromLock(lock)).toEqual([]);
  });

  it('finds what is missing the way npm ci reports it', () => {
    const broken: Lock = {
      lockfileVersion: 3,
      packages: {
        '': { devDependencies: { tool: '^1.0.0' } },
        'node_modules/tool': { version: '1.0.0', optionalDependencies: { 'tool-win32-x64': '1.0.0' } },
        'node_modules/a': { version: '1.0.0', dependencies: { b: '^2.0.0' } },
        'node_modules/a/node_modules/b': { version: '2.0.0', dependencies: { tool: '^1.0.0' } },
      },
    };
    expect(missingFromLock(broken)).toEqual(['tool-win32-x64 (needed by node_modules/tool)']);
  });
});
