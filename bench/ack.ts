/**
 * Acknowledgement latency of /status: rounds of 50 concurrent signed slash commands to dockhand (a real process,
 * the fake Slack and the fake AWS on 127.0.0.1), beside a bare Bolt app that acks immediately, both on this Node.
 * Both run at once and take turns round by round (the order alternating), so a neighbour's load on a shared
 * machine hits both alike. Prints p50/p99 of each, their ratio, and the range of the per-round p50 ratios.
 * A benchmark, not a test: it asserts nothing.
 *
 *   npm run bench:ack            (ROUNDS=10 CONCURRENCY=50 to change the load)
 */

import { reportFigure } from './figures.ts';
import { ackRound, BARE_BOLT, DOCKHAND, fmt, launch, median, percentile, settle, startWorld } from './support.ts';

const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
const ROUNDS = Number(process.env.ROUNDS ?? 10);

const world = await startWorld();
try {
  const bare = await launch(BARE_BOLT, world.env(), world.dir);
  const dockhand = await launch(DOCKHAND, world.env(), world.dir);
  const apps = { bare, dockhand };
  const latencies = { bare: [] as number[], dockhand: [] as number[] };
  const roundRatios: number[] = [];
  // Main-thread CPU from a round's first write to its last ack: the work each request's ack waited for in the burst
  // (dockhand runs a command's work after the acks only once the burst is quiet, so this is what precedes the acks).
  const cpuNs = { bare: 0, dockhand: 0 };
  let cpuKnown = true;
  try {
    // one warm-up round each, then ROUNDS measured rounds each
    for (let round = 0; round <= ROUNDS; round++) {
      const order = round % 2 === 0 ? (['bare', 'dockhand'] as const) : (['dockhand', 'bare'] as const);
      const p50 = { bare: 0, dockhand: 0 };
      for (const name of order) {
        const results = await ackRound(world, apps[name], CONCURRENCY);
        await settle([bare.pid, dockhand.pid]); // the round's work after the acks ends before the next round
        if (round === 0) continue;
        latencies[name].push(...results.latencies);
        p50[name] = median(results.latencies);
        if (results.cpuNs === undefined) cpuKnown = false;
        else cpuNs[name] += results.cpuNs;
      }
      if (round > 0) roundRatios.push(p50.dockhand / p50.bare);
    }
  } finally {
    await Promise.all([bare.stop(), dockhand.stop()]);
  }
  const stats = (xs: number[]) => ({ p50: percentile(xs, 50), p99: percentile(xs, 99) });
  const base = stats(latencies.bare);
  const ours = stats(latencies.dockhand);
  const lo = Math.min(...roundRatios);
  const hi = Math.max(...roundRatios);
  console.log(
    `ack latency, ${ROUNDS} rounds × ${CONCURRENCY} concurrent signed /status (n=${latencies.dockhand.length} each), ${process.version}`,
  );
  console.log(`  bare Bolt  p50 ${fmt(base.p50, 'ms')}  p99 ${fmt(base.p99, 'ms')}`);
  console.log(`  dockhand   p50 ${fmt(ours.p50, 'ms')}  p99 ${fmt(ours.p99, 'ms')}`);
  console.log(
    `  ratio      p50 ×${(ours.p50 / base.p50).toFixed(2)}  p99 ×${(ours.p99 / base.p99).toFixed(2)}  ` +
      `(per-round p50 ratios: median ×${median(roundRatios).toFixed(2)}, ×${lo.toFixed(2)}…×${hi.toFixed(2)})`,
  );
  const requests = ROUNDS * CONCURRENCY;
  const cpuUs = { bare: cpuNs.bare / requests / 1000, dockhand: cpuNs.dockhand / requests / 1000 };
  if (cpuKnown) {
    console.log(
      `  CPU until the last ack, per request (main thread): bare Bolt ${cpuUs.bare.toFixed(0)} µs, ` +
        `dockhand ${cpuUs.dockhand.toFixed(0)} µs, ×${(cpuUs.dockhand / cpuUs.bare).toFixed(2)}`,
    );
  }
  reportFigure({ figure: 'ack_p50_ms', value: ours.p50, unit: 'ms', baseline: base.p50 });
  reportFigure({ figure: 'ack_p99_ms', value: ours.p99, unit: 'ms', baseline: base.p99 });
  // Steadier than the pooled p50 when the machine is shared: the median of the rounds' own p50 ratios.
  reportFigure({ figure: 'ack_p50_round_ratio_median', value: median(roundRatios), unit: 'ratio' });
  if (cpuKnown)
    reportFigure({ figure: 'ack_cpu_per_request_us', value: cpuUs.dockhand, unit: 'µs', baseline: cpuUs.bare });
} finally {
  await world.close();
}
