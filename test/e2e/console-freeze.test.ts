import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';

/**
 * The local console shows freezes: dockhand as a process in local mode (the bundled examples/dockhand.local.yml,
 * no Docker needed), commands sent as the console page sends them, and the page's state read back as it reads it.
 */
const DEV = 'U0LOCALDEV';
const LEAD = 'U0LOCALLEAD';

describe('the local console: freeze, a refused deploy, unfreeze', () => {
  let dockhand: DockhandProcess;

  const send = async (user: string, text: string) => {
    const res = await fetch(`${dockhand.url}/console/command`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, text }),
    });
    expect(res.status).toBe(200);
  };
  /** Waits until the console page of `user` shows a message containing `text`; returns the page's messages. */
  const shows = async (user: string, text: string): Promise<string> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const state = await (await fetch(`${dockhand.url}/console/state?user=${user}`)).text();
      if (state.includes(text)) return state;
      if (Date.now() > deadline) throw new Error(`the console never showed “${text}”: ${state.slice(0, 2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    dockhand = await startDockhand({
      config: '# unused: local mode reads the bundled examples/dockhand.local.yml\n',
      slackApiUrl: 'http://127.0.0.1:9/api/',
      env: {
        SLACK_BOT_TOKEN: '',
        SLACK_SIGNING_SECRET: '',
        DOCKHAND_CONFIG: '',
        LOG_LEVEL: 'info',
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      },
    });
  }, 60_000);

  afterAll(async () => {
    await dockhand?.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('shows who froze the environment, refuses dev’s deploy with the freeze, and lifts it', async () => {
    await send(DEV, '/dockhand freeze local for 1h');
    expect(await shows(DEV, 'Only the approvers of `local`')).toBeTruthy();

    await send(LEAD, '/dockhand freeze local for 1h demo day');
    await shows(DEV, 'froze *local*');
    await send(DEV, '/deploy hello');
    const refused = await shows(DEV, 'is frozen (demo day)');
    expect(refused).toContain('--emergency');

    await send(DEV, '/dockhand freeze');
    await shows(DEV, '*local* frozen by');
    await send(LEAD, '/dockhand unfreeze local');
    await shows(DEV, 'unfroze *local*');
  }, 60_000);
});
