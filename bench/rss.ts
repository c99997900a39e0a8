/**
 * Memory: resident set size of dockhand idle (local mode, and HTTP mode with one ECS service) and at its peak under
 * the ack load (rounds of 50 concurrent signed /status, as bench/ack.ts), beside a bare Bolt app measured the
 * same way in the same run, both on this Node. A benchmark, not a test: it asserts nothing.
 *
 *   npm run bench:rss            (ROUNDS=10 CONCURRENCY=50 IDLE_MS=3000 to change it)
 */

import { reportFigure } from './figures.ts';
import {
  ackRound,
  BARE_BOLT,
  DOCKHAND,
  fmt,
  type Launched,
  launch,
  pause,
  rssMiB,
  settle,
  startWorld,
} from './support.ts';

const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const IDLE_MS = Number(process.env.IDLE_MS ?? 3000);

const world = await startWorld();

/** RSS once started and left alone for IDLE_MS (start-up garbage is collected or not, as in production). */
const idle = async (app: Launched) => {
  await pause(IDLE_MS);
  return rssMiB(app.pid);
};

/** Peak RSS, sampled every 20 ms, over ROUNDS rounds of the ack load. */
const underLoad = async (app: Launched) => {
  let peak = rssMiB(app.pid);
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(app.pid));
  }, 20);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      await ackRound(world, app, CONCURRENCY);
      await settle([app.pid]);
    }
  } finally {
    clearInterval(sampler);
  }
  return Math.max(peak, rssMiB(app.pid));
};

try {
  const bare = await launch(BARE_BOLT, world.env(), world.dir);
  const bareIdle = await idle(bare);
  const barePeak = await underLoad(bare);
  await bare.stop();

  // Local mode: no Slack workspace, the bundled config (a Docker-host service); no engine is needed to idle.
  // The run's first start of dockhand finds the compile cache empty (Node loads its TypeScript stripper); the
  // second, as every later `npm start` and every start of the image, finds it full.
  const first = await launch(DOCKHAND, world.localEnv(), world.dir);
  const firstIdle = await idle(first);
  await first.stop();
  const local = await launch(DOCKHAND, world.localEnv(), world.dir);
  const localIdle = await idle(local);
  await local.stop();

  const http = await launch(DOCKHAND, world.env(), world.dir);
  const httpIdle = await idle(http);
  const httpPeak = await underLoad(http);
  await http.stop();

  const unit = 'MiB';
  console.log(`resident set size, ${process.version}; load = ${ROUNDS} rounds × ${CONCURRENCY} concurrent /status`);
  console.log(`  bare Bolt            idle ${fmt(bareIdle, unit)}   under load (peak) ${fmt(barePeak, unit)}`);
  console.log(
    `  dockhand, local mode idle ${fmt(localIdle, unit)}   first start (compile cache empty) ${fmt(firstIdle, unit)}`,
  );
  console.log(`  dockhand, HTTP mode  idle ${fmt(httpIdle, unit)}   under load (peak) ${fmt(httpPeak, unit)}`);
  reportFigure({ figure: 'rss_idle_local_mib', value: localIdle, unit, baseline: bareIdle });
  reportFigure({ figure: 'rss_idle_local_first_start_mib', value: firstIdle, unit, baseline: bareIdle });
  reportFigure({ figure: 'rss_idle_http_mib', value: httpIdle, unit, baseline: bareIdle });
  reportFigure({ figure: 'rss_load_peak_mib', value: httpPeak, unit, baseline: barePeak });
} finally {
  await world.close();
}
