import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEnv } from '../../src/config/env.ts';
import { checkoutId, exampleFootprint, localId } from '../../src/local/example.ts';
import { prepareLocalMode } from '../../src/local/local-mode.ts';

describe("the local example is named for its checkout, so two people on one engine don't collide", () => {
  const dirs = [mkdtempSync(join(tmpdir(), 'dockhand-co-a-')), mkdtempSync(join(tmpdir(), 'dockhand-co-b-'))];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('derives a short id from the checkout path: the same every time, another for another checkout', () => {
    const [a = '', b = ''] = dirs;
    expect(checkoutId(a)).toMatch(/^[0-9a-f]{8}$/);
    expect(checkoutId(a)).toBe(checkoutId(`${a}/`));
    expect(checkoutId(b)).not.toBe(checkoutId(a));
    expect(localId({}, a)).toBe(checkoutId(a));
  });

  it('names the container and the image repository with it, per checkout', async () => {
    const [a = '', b = ''] = dirs;
    const [mine] = await exampleFootprint({}, { dir: a });
    const [theirs] = await exampleFootprint({}, { dir: b });
    expect(mine).toMatchObject({
      service: 'hello',
      environment: 'local',
      container: `dockhand-hello-${checkoutId(a)}`,
      repository: `dockhand-local/hello-${checkoutId(a)}`,
    });
    expect(theirs?.container).toBe(`dockhand-hello-${checkoutId(b)}`);
  });

  it('takes DOCKHAND_LOCAL_ID when set, and refuses one that cannot name a container, saying what fits', async () => {
    expect(localId({ DOCKHAND_LOCAL_ID: 'alice' })).toBe('alice');
    const [f] = await exampleFootprint({ DOCKHAND_LOCAL_ID: 'alice' });
    expect(f?.container).toBe('dockhand-hello-alice');
    for (const bad of ['Alice', 'a b', '../x', '-a', 'x'.repeat(33)]) {
      expect(() => localId({ DOCKHAND_LOCAL_ID: bad }), bad).toThrow(
        /^DOCKHAND_LOCAL_ID: ".*" cannot name a container or an image; use 1 to 32 lower-case letters/,
      );
    }
  });

  it('gives local mode the id to read the config with, and says it in the log', async () => {
    const local = await prepareLocalMode(readEnv({ PORT: '0' }), { DOCKHAND_LOCAL_ID: 'bob' });
    local.stop();
    expect(local.configEnv.DOCKHAND_LOCAL_ID).toBe('bob');
    expect(local.banner.join('\n')).toContain('named for this checkout: bob; `npm run local:clean` removes');
    await expect(prepareLocalMode(readEnv({ PORT: '0' }), { DOCKHAND_LOCAL_ID: 'B O B' })).rejects.toThrow(
      /DOCKHAND_LOCAL_ID/,
    );
  });
});
