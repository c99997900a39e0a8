/**
 * Cold start: from spawning the process to the first 200 from GET /healthz, for dockhand in HTTP mode (fake Slack
 * and fake AWS on 127.0.0.1, one ECS service) and in local mode, beside a bare Bolt app with a /healthz route,
 * all on this Node. RUNS runs each, taking turns; prints the median and the range. A benchmark, not a test.
 *
 *   npm run bench:start          (RUNS=7 to change it)
 */
import { spawn } from 'node:child_process';
import { reportFigure } from './figures.ts';
import { BARE_BOLT, DOCKHAND, fmt, freePort, median, nodeArgs, pause, startWorld } from './support.ts';

const RUNS = Number(process.env.RUNS ?? 5);
const TIMEOUT_MS = 30_000;

const world = await startWorld();

/** Milliseconds from spawn to the first 200 from /healthz (polled every 5 ms, each poll bounded to 1 s). */
const coldStart = async (script: string, env: Record<string, string>): Promise<number> => {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, nodeArgs(script), {
    cwd: world.dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...env, PORT: String(port) },
  });
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    while (performance.now() - started < TIMEOUT_MS) {
      if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}\n${err}`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ok) return performance.now() - started;
      await pause(5);
    }
    throw new Error(`${script}: no 200 from /healthz within ${TIMEOUT_MS} ms\n${err}`);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
};

const apps = {
  bare: () => coldStart(BARE_BOLT, world.env()),
  http: () => coldStart(DOCKHAND, world.env()),
  local: () => coldStart(DOCKHAND, world.localEnv()),
};
const times = { bare: [] as number[], http: [] as number[], local: [] as number[] };
try {
  await apps.bare(); // warm the file system cache once, unmeasured
  for (let run = 0; run < RUNS; run++) {
    for (const name of ['bare', 'http', 'local'] as const) times[name].push(await apps[name]());
  }
  const range = (xs: number[]) => `${fmt(Math.min(...xs), 'ms')}…${fmt(Math.max(...xs), 'ms')}`;
  console.log(`cold start to the first 200 from /healthz, ${RUNS} runs each (median, range), ${process.version}`);
  console.log(`  bare Bolt            ${fmt(median(times.bare), 'ms')}  (${range(times.bare)})`);
  console.log(`  dockhand, HTTP mode  ${fmt(median(times.http), 'ms')}  (${range(times.http)})`);
  console.log(`  dockhand, local mode ${fmt(median(times.local), 'ms')}  (${range(times.local)})`);
  const baseline = median(times.bare);
  reportFigure({ figure: 'start_healthz_http_ms', value: median(times.http), unit: 'ms', baseline });
  reportFigure({ figure: 'start_healthz_local_ms', value: median(times.local), unit: 'ms', baseline });
} finally {
  await world.close();
}
