import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;

/** In a fresh Node process: open the default kind of store (SQLite) and say whether `pg` has been loaded. */
const probe = `
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/');
const { openStore } = await import('./src/adapters/store/index.ts');
const store = await openStore('sqlite::memory:');
await store.ping();
await store.close();
console.log(JSON.stringify({ pgLoaded: Object.keys(require.cache).some((path) => path.includes('/node_modules/pg/')) }));
`;

describe('the Postgres client is loaded only for a Postgres store', () => {
  it('opens and uses a SQLite store without loading pg', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(JSON.parse(out.trim().split('\n').at(-1) ?? '{}')).toEqual({ pgLoaded: false });
  });
});
