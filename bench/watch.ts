/**
 * Cost of a watch tick at scale: 1,000 services × 10 tasks across 10 clusters on the fake AWS (127.0.0.1, in a
 * process of its own: bench/fake-aws-process.ts), every service watched for health and public IPs, the real
 * AwsEcsReader, the default store (a SQLite file, in a temp directory: as deployed, its pages live in the OS page
 * cache, not in this process's RSS; STORE=memory for `sqlite::memory:`, whose pages do), a counting notifier.
 * Prints, per tick, the AWS calls beside the theoretical minimum, the tick's wall time, and this process's
 * (dockhand's watch's) peak RSS during the tick, sampled every 10 ms; then the process's high-water mark. The last
 * tick is the first of a new scheduler and reader over the same store (a restart, or another replica taking over):
 * their memory is empty, the store's cache is not.
 * After the ticks, where the RSS was after each one: V8's young generation (new space, which V8 grows to its
 * maximum under a steady allocation rate), the rest of the V8 heap, ArrayBuffers and other external memory, and what
 * is left (the binary, code, malloc'd memory). With `node --expose-gc` a full GC runs first, so "heap used" is what
 * is live.
 * A benchmark, not a test: it asserts nothing.
 *
 *   npm run bench:watch          (CLUSTERS=10 SERVICES=100 TASKS=10 to change the shape; IDLE_MS=10000 to idle
 *                                 between ticks for real, as a deployed watch does; STORE=memory)
 * bench:watch-process measures the watch as deployed instead: dockhand's own process, real ticks a minute apart.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getHeapSpaceStatistics } from 'node:v8';
import { createAwsClients } from '../src/adapters/aws/clients.ts';
import { AwsEcsDeployer } from '../src/adapters/aws/ecs-deployer.ts';
import { AwsEcsReader } from '../src/adapters/aws/ecs-reader.ts';
import { EcsRuntime } from '../src/adapters/aws/ecs-runtime.ts';
import { AwsLogReader } from '../src/adapters/aws/log-reader.ts';
import { ENI_IDS_PER_CALL } from '../src/adapters/aws/public-ips.ts';
import { SharedSnapshots } from '../src/adapters/aws/shared-snapshots.ts';
import { createRuntimes } from '../src/adapters/runtimes.ts';
import { openStore } from '../src/adapters/store/index.ts';
import { configSchema } from '../src/config/schema.ts';
import { createScheduler } from '../src/jobs/index.ts';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import type { Clock, MessageRef, Notifier } from '../src/ports.ts';
import { reportFigure } from './figures.ts';
import { startFakeAwsProcess } from './support.ts';

const CLUSTERS = Number(process.env.CLUSTERS ?? 10);
const SERVICES_PER_CLUSTER = Number(process.env.SERVICES ?? 100);
const TASKS = Number(process.env.TASKS ?? 10);
const REPLACED_SERVICES = 5;
const IDLE_MS = Number(process.env.IDLE_MS ?? 0);

process.env.AWS_ACCESS_KEY_ID ??= 'AKIAFAKEFAKEFAKEFAKE';
process.env.AWS_SECRET_ACCESS_KEY ??= 'fake-secret';

const fake = await startFakeAwsProcess({ clusters: CLUSTERS, services: SERVICES_PER_CLUSTER, tasks: TASKS });
const { url, control } = fake;
const services: Record<string, unknown> = {};
const names: { cluster: string; service: string }[] = [];
for (let c = 0; c < CLUSTERS; c++) {
  const cluster = `cluster-${c}`;
  for (let s = 0; s < SERVICES_PER_CLUSTER; s++) {
    const service = `svc-${c}-${s}`;
    names.push({ cluster, service });
    services[service] = {
      environments: { production: { target: { type: 'ecs', cluster, service, container: 'app' } } },
      watch: { health: '* * * * *', publicIps: '* * * * *' },
    };
  }
}
const config = configSchema.parse({ defaults: { channel: '#ops', region: 'us-east-1' }, services });

let t = Date.parse('2026-11-21T12:00:00Z');
const clock: Clock = {
  now: () => new Date(t),
  sleep: async (ms) => {
    t += ms;
  },
};
let posted = 0;
const notifier: Notifier = {
  post: async (channel): Promise<MessageRef> => {
    posted++;
    return { channel, ts: String(posted) };
  },
  update: async () => {},
  updateNow: async () => {},
  ephemeral: async () => {},
  flush: async () => {},
};
const aws = createAwsClients({ endpoint: url, region: 'us-east-1' });
// The default store, a SQLite file, as deployed: its pages live in the OS page cache, not in this process's RSS.
const storeDir = mkdtempSync(join(tmpdir(), 'dockhand-bench-watch-'));
const storeUrl = process.env.STORE === 'memory' ? 'sqlite::memory:' : `sqlite:${join(storeDir, 'dockhand.db')}`;
const store = await openStore(storeUrl, { instance: 'bench' });
/** A dockhand process as src/app.ts wires it: a reader with empty in-memory caches, the store's cache behind them. */
const startScheduler = (instance: string) =>
  createScheduler({
    config,
    runtimes: createRuntimes({
      ecs: new EcsRuntime({
        // As src/app.ts wires it: the watch reads through the snapshots /status and /dockhand ips share.
        reader: new SharedSnapshots({ reader: new AwsEcsReader({ clients: aws, cache: store, clock }), clock }),
        deployer: new AwsEcsDeployer({ clients: aws }),
        logs: new AwsLogReader({ clients: aws }),
        clock,
        defaultRegion: config.defaults.region,
      }),
    }),
    store,
    notifier,
    clock,
    logger: createLogger('warn'),
    metrics: createMetrics(),
    instance,
  });
let scheduler = startScheduler('bench');

const S = SERVICES_PER_CLUSTER;
const T = SERVICES_PER_CLUSTER * TASKS;
const ceil = (a: number, b: number) => Math.ceil(a / b);
const minimum = { services: CLUSTERS * ceil(S, 10), list: CLUSTERS * ceil(T, 100), tasks: CLUSTERS * ceil(T, 100) };

console.log(
  `${CLUSTERS} clusters × ${S} services × ${TASKS} tasks = ${CLUSTERS * S} services, ${CLUSTERS * T} tasks; ` +
    'health and public-IP watches due every tick (one shared snapshot); ' +
    `store ${storeUrl}; node flags: ${process.execArgv.filter((a) => a.startsWith('--') && !a.startsWith('--import')).join(' ') || 'none'} ` +
    '(npm run bench:watch passes those of npm start)\n',
);
const header = [
  'tick',
  'DescribeServices',
  'ListTasks',
  'DescribeTasks',
  'DescribeTaskDef',
  'EC2 DescribeENIs',
  'ms',
  'peak RSS MiB',
  'posts',
];
console.log(header.map((h) => h.padEnd(h === 'tick' ? 28 : 18)).join(''));

const ticks: { label: string; before?: () => Promise<number>; restart?: boolean }[] = [
  { label: '1 cold (empty caches)' },
  { label: '2 steady' },
  { label: '3 steady' },
  {
    label: `4 ${REPLACED_SERVICES} services replaced`,
    before: async () => {
      let fresh = 0;
      for (const { cluster, service } of names.slice(0, REPLACED_SERVICES)) {
        const { result } = (await control('control', { op: 'replaceTasks', cluster, service })) as {
          result: { taskArns: string[] };
        };
        fresh += result.taskArns.length;
      }
      return fresh;
    },
  },
  { label: '5 steady' },
  { label: '6 restart (cold memory)', restart: true },
];

const MiB = 1024 * 1024;
/** Peak RSS of this process while `work` runs, sampled every 10 ms (and before and after it). */
const peakRssDuring = async <T>(work: () => Promise<T>): Promise<{ result: T; peakMiB: number }> => {
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  try {
    const result = await work();
    return { result, peakMiB: Math.max(peak, process.memoryUsage.rss()) / MiB };
  } finally {
    clearInterval(sampler);
  }
};

/** Per tick: every AWS call it made, the minimum those batch sizes allow, its wall time and peak RSS. */
const results: { calls: number; minimum: number; ms: number; peakMiB: number }[] = [];
/** Where the RSS is right now (after a full GC when one can be asked for), one line. */
const memoryBreakdown = (label: string): string => {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const newSpace = getHeapSpaceStatistics()
    .filter((s) => s.space_name === 'new_space' || s.space_name === 'new_large_object_space')
    .reduce((sum, s) => sum + s.space_size, 0);
  const f = (n: number) => `${Math.round(n / MiB)}`.padEnd(12);
  return (
    label.padEnd(28) +
    f(m.rss) +
    f(newSpace) +
    f(m.heapTotal - newSpace) +
    f(m.heapUsed) +
    f(m.external) +
    f(m.arrayBuffers) +
    f(m.rss - m.heapTotal - m.external)
  );
};
const breakdown = [
  `${'RSS after'.padEnd(28)}${['MiB', 'new space', 'other heap', 'heap used', 'external', 'of it buffers', 'rest'].map((h) => h.padEnd(12)).join('')}`,
  memoryBreakdown('start'),
];
for (const [i, step] of ticks.entries()) {
  const fresh = (await step.before?.()) ?? (i === 0 ? CLUSTERS * T : 0);
  if (step.restart) {
    await scheduler.stop();
    scheduler = startScheduler('bench-restarted');
  }
  await control('reset-calls', {});
  const started = performance.now();
  const { peakMiB } = await peakRssDuring(() => scheduler.tick(clock.now()));
  const ms = performance.now() - started;
  const { calls } = (await control('calls')) as { calls: Record<string, number> };
  const n = (key: string) => calls[key] ?? 0;
  const stoppedLookups = i === 3 ? ceil(REPLACED_SERVICES, SERVICES_PER_CLUSTER) : 0;
  const cell = (actual: number, min: number) => `${actual} (min ${min})`.padEnd(18);
  results.push({
    calls: Object.values(calls).reduce((sum, c) => sum + c, 0),
    minimum:
      minimum.services +
      minimum.list +
      minimum.tasks +
      stoppedLookups +
      (i === 0 ? CLUSTERS * S : 0) +
      ceil(fresh, ENI_IDS_PER_CALL),
    ms,
    peakMiB,
  });
  console.log(
    step.label.padEnd(28) +
      cell(n('ECS.DescribeServices'), minimum.services) +
      cell(n('ECS.ListTasks'), minimum.list) +
      cell(n('ECS.DescribeTasks'), minimum.tasks + stoppedLookups) +
      cell(n('ECS.DescribeTaskDefinition'), i === 0 ? CLUSTERS * S : 0) +
      cell(n('EC2.DescribeNetworkInterfaces'), ceil(fresh, ENI_IDS_PER_CALL)) +
      `${Math.round(ms)}`.padEnd(18) +
      `${Math.round(peakMiB)}`.padEnd(18) +
      posted,
  );
  t += 60_000;
  // IDLE_MS: wait for real between ticks, as a deployed watch idles between minutes (V8 may shrink its heap then).
  if (IDLE_MS > 0) await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  breakdown.push(memoryBreakdown(step.label));
}
console.log(`\n${breakdown.join('\n')}`);

const { maxRSS } = process.resourceUsage();
console.log(
  `\npeak RSS ${(maxRSS / 1024).toFixed(0)} MiB (process.resourceUsage().maxRSS of the watch's process; the fake AWS ` +
    'runs in another one)',
);
console.log(
  'min: DescribeServices ceil(S/10), ListTasks and DescribeTasks ceil(T/100) per cluster; after a replacement one more ' +
    'DescribeTasks per affected cluster reads the stopped tasks; EC2 only for new tasks, 1000 ENIs a call per region.\n' +
    'A restart (or another replica) reads task definitions and public IPs from the store: one query each, no AWS call.',
);

const cold = results[0];
const steady = results[2];
if (cold && steady) {
  reportFigure({ figure: 'watch_calls_cold_tick', value: cold.calls, unit: 'calls', baseline: cold.minimum });
  reportFigure({ figure: 'watch_calls_steady_tick', value: steady.calls, unit: 'calls', baseline: steady.minimum });
  reportFigure({ figure: 'watch_cold_tick_ms', value: cold.ms, unit: 'ms' });
  reportFigure({ figure: 'watch_steady_tick_ms', value: steady.ms, unit: 'ms' });
  reportFigure({ figure: 'watch_cold_tick_peak_rss_mib', value: cold.peakMiB, unit: 'MiB' });
  reportFigure({
    figure: 'watch_steady_tick_peak_rss_mib',
    value: Math.max(...results.slice(1).map((r) => r.peakMiB)),
    unit: 'MiB',
  });
}
reportFigure({ figure: 'watch_peak_rss_mib', value: maxRSS / 1024, unit: 'MiB' });

await scheduler.stop();
await store.close();
rmSync(storeDir, { recursive: true, force: true });
aws.destroy();
fake.stop();
