/**
 * The watch as deployed, measured from outside: dockhand started as `npm start` starts it (its V8 flags, the
 * compile cache filled first as the image fills it, Bolt in HTTP mode against the fake Slack), with the default
 * store (a SQLite file: its pages live in the OS page cache, not in dockhand's RSS), a dockhand.yml of 1,000
 * services × 10 tasks across 10 clusters, each watched for health and public IPs every minute, and the fake AWS
 * seeded with them in a process of its own (bench/fake-aws-process.ts). node-cron runs one tick a minute for all
 * of them and dockhand idles in between, as in production: the bench only waits for TICKS real ticks (the first
 * cold, the others steady), so a run takes TICKS + 1 to 2 minutes.
 *
 * It samples dockhand's RSS (/proc/<pid>/status VmRSS) every SAMPLE_MS and reads each tick's end, and its
 * duration, from dockhand's own log line ("watch tick done", with `ms`), its AWS calls from the fake AWS's
 * counters. Per tick: the calls, the wall time, the peak RSS during the tick, the RSS just before the next tick
 * (after idling); then the process's high-water mark (VmHWM). Baseline: dockhand's idle RSS before the first tick,
 * in the same run. A benchmark, not a test: it asserts nothing.
 *
 *   npm run bench:watch-process   (TICKS=4; CLUSTERS=10 SERVICES=100 TASKS=10; SAMPLE_MS=50;
 *                                  DOCKHAND_NODE_FLAGS="--heap-growing-percent=20" to try V8 flags on dockhand)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { reportFigure } from './figures.ts';
import {
  DOCKHAND,
  type Launched,
  launch,
  nodeArgs,
  pause,
  root,
  rssMiB,
  startFakeAwsProcess,
  startWorld,
} from './support.ts';

const CLUSTERS = Number(process.env.CLUSTERS ?? 10);
const SERVICES_PER_CLUSTER = Number(process.env.SERVICES ?? 100);
const TASKS = Number(process.env.TASKS ?? 10);
const TICKS = Math.max(2, Number(process.env.TICKS ?? 4));
const SAMPLE_MS = Number(process.env.SAMPLE_MS ?? 50);
/** Everything (start, TICKS ticks a minute apart, the idle after the last) must be over by then. */
const TIMEOUT_MS = (TICKS + 4) * 60_000;
const MINUTE = 60_000;

/** A field of /proc/<pid>/status in MiB (VmRSS, VmHWM, RssAnon, RssFile); undefined where there is none. */
const statusMiB = (pid: number, field: string): number | undefined => {
  try {
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
};
const loads = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** One "watch tick done" line of dockhand's log, and when the bench read it. */
interface TickLine {
  end: number;
  ms: number;
  outcomes: unknown;
  posted: number;
}

const deadline = Date.now() + TIMEOUT_MS;
const world = await startWorld();
let fake: Awaited<ReturnType<typeof startFakeAwsProcess>> | undefined;
let app: Launched | undefined;
let sampler: ReturnType<typeof setInterval> | undefined;
let cleaned: Promise<void> | undefined;
/** Stops every process this bench started, by its PID; once, whichever way the bench ends. */
const cleanup = () => {
  cleaned ??= (async () => {
    clearInterval(sampler);
    await app?.stop();
    fake?.stop();
    await world.close();
  })();
  return cleaned;
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  console.log(`load average at start: ${loads()}`);
  fake = await startFakeAwsProcess({ clusters: CLUSTERS, services: SERVICES_PER_CLUSTER, tasks: TASKS });
  const fakeUrl = fake.url;
  const { control } = fake;

  // As the image does (Dockerfile): the compile cache filled before dockhand's first start. Node keeps one cache
  // per set of V8 flags (a directory named by their hash; --max-semi-space-size leaves it alone, but e.g.
  // --heap-growing-percent does not): filled without dockhand's flags, a start with other ones would find it empty,
  // load the TypeScript stripper (~28 MiB) and be compared unfairly. So it is filled with dockhand's flags (as the
  // Dockerfile now does), and one start in local mode, stopped at once, adds whatever a start loads that the fill
  // did not.
  const flags = nodeArgs(DOCKHAND).filter((a) => a.startsWith('--') && !a.startsWith('--import'));
  const compileCache = join(world.dir, 'compile-cache');
  const filled = spawnSync(process.execPath, [...flags, join(root, 'bin/compile-cache.js')], {
    env: { PATH: process.env.PATH ?? '', NODE_COMPILE_CACHE: compileCache },
    encoding: 'utf8',
  });
  if (filled.status !== 0) throw new Error(`could not fill the compile cache: ${filled.stderr}`);
  await (await launch(DOCKHAND, world.localEnv({ NODE_COMPILE_CACHE: compileCache }), world.dir, 60_000)).stop();

  const services: Record<string, unknown> = {};
  for (let c = 0; c < CLUSTERS; c++) {
    for (let s = 0; s < SERVICES_PER_CLUSTER; s++) {
      services[`svc-${c}-${s}`] = {
        environments: {
          production: { target: { type: 'ecs', cluster: `cluster-${c}`, service: `svc-${c}-${s}`, container: 'app' } },
        },
        watch: { health: '* * * * *', publicIps: '* * * * *' },
      };
    }
  }
  const configPath = join(world.dir, 'watch.yml');
  // JSON is YAML: dockhand reads it as any dockhand.yml.
  writeFileSync(configPath, JSON.stringify({ defaults: { channel: '#deploys', region: 'us-east-1' }, services }));

  // Start early in a minute, so that dockhand idles a while (its baseline) before node-cron's first tick.
  if (Date.now() % MINUTE > 40_000) await pause(MINUTE - (Date.now() % MINUTE) + 2_000);
  const env = world.env({ DOCKHAND_CONFIG: configPath, AWS_ENDPOINT_URL: fakeUrl, NODE_COMPILE_CACHE: compileCache });
  const started = await launch(DOCKHAND, env, world.dir, 60_000);
  app = started;
  const { pid } = started;
  await control('reset-calls', {});

  const samples: { at: number; mib: number }[] = [];
  const sample = () => {
    const mib = statusMiB(pid, 'VmRSS') ?? rssMiB(pid);
    samples.push({ at: performance.now(), mib });
  };
  sample();
  sampler = setInterval(sample, SAMPLE_MS);

  // dockhand's log, read beside launch()'s own reader: each tick's end and duration.
  const ticks: TickLine[] = [];
  const problems: string[] = [];
  let wake: (() => void) | undefined;
  let buffer = '';
  started.child.stdout?.on('data', (chunk: string) => {
    buffer += chunk;
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
      if (!line.includes('watch')) continue;
      const at = performance.now();
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (parsed.msg === 'watch tick done') {
        ticks.push({ end: at, ms: Number(parsed.ms), outcomes: parsed.outcomes, posted: Number(parsed.posted) });
        wake?.();
      } else if (typeof parsed.msg === 'string' && Number(parsed.level) >= 40) problems.push(parsed.msg);
    }
  });
  let exited: string | undefined;
  started.child.once('exit', (code, signal) => {
    exited = `dockhand exited (${code ?? signal}) before tick ${ticks.length + 1}`;
    wake?.();
  });
  const tickDone = (count: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no tick ${count} by the deadline (${problems.join('; ') || 'no warning logged'})`)),
        Math.max(0, deadline - Date.now()),
      );
      wake = () => {
        if (exited) {
          clearTimeout(timer);
          reject(new Error(exited));
          return;
        }
        if (ticks.length < count) return;
        clearTimeout(timer);
        wake = undefined;
        resolve();
      };
      wake();
    });

  console.log(
    `${CLUSTERS} clusters × ${SERVICES_PER_CLUSTER} services × ${TASKS} tasks = ` +
      `${CLUSTERS * SERVICES_PER_CLUSTER} services, every one watched for health and public IPs each minute; ` +
      `dockhand (pid ${pid}) runs as npm start does, V8 flags ` +
      `${flags.join(' ')}` +
      `${env.NODE_OPTIONS ? `, NODE_OPTIONS ${env.NODE_OPTIONS}` : ''}; ` +
      `store ${env.DOCKHAND_DATABASE_URL}; RSS sampled every ${SAMPLE_MS} ms\n`,
  );
  const calls: Record<string, number>[] = [];
  for (let i = 1; i <= TICKS; i++) {
    await tickDone(i);
    calls.push(((await control('calls')) as { calls: Record<string, number> }).calls);
    await control('reset-calls', {});
    console.log(`  tick ${i} done (${Math.round(ticks[i - 1]?.ms ?? 0)} ms); load average ${loads()}`);
  }
  // Idle as after any tick, until just before the next minute's tick: the last tick's "RSS before the next".
  await pause(Math.max(0, MINUTE - (Date.now() % MINUTE) - 1_500));
  sample();
  const hwm = statusMiB(pid, 'VmHWM');
  const anon = statusMiB(pid, 'RssAnon');
  const file = statusMiB(pid, 'RssFile');
  clearInterval(sampler);

  const startOf = (tick: TickLine) => tick.end - tick.ms;
  const peakBetween = (from: number, to: number) =>
    Math.max(...samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.mib));
  const lastBefore = (at: number) => samples.filter((s) => s.at < at).at(-1)?.mib ?? Number.NaN;
  const first = ticks[0] as TickLine;
  const idle = lastBefore(startOf(first));
  const rows = ticks.slice(0, TICKS).map((tick, i) => {
    const next = ticks[i + 1];
    const count = Object.values(calls[i] ?? {}).reduce((sum, n) => sum + n, 0);
    return {
      label: i === 0 ? '1 cold' : `${i + 1} steady`,
      calls: count,
      ms: tick.ms,
      // A sample at most SAMPLE_MS after the end still belongs to the tick (the log line comes a little after it).
      peak: peakBetween(startOf(tick), tick.end + SAMPLE_MS),
      before: next ? lastBefore(startOf(next)) : (samples.at(-1)?.mib ?? Number.NaN),
      outcomes: JSON.stringify(tick.outcomes),
      posted: tick.posted,
    };
  });

  const col = (text: string | number, width = 14) => String(text).padEnd(width);
  console.log(
    `\n${col('tick', 12)}${col('AWS calls')}${col('ms')}${col('peak RSS MiB')}${col('RSS before next', 18)}` +
      `${col('posts', 8)}outcomes`,
  );
  console.log(`${col('idle', 12)}${col('')}${col('')}${col('')}${col(Math.round(idle), 18)}`);
  // The idle baseline's course: from the start-up line to the first tick, every 5 s, and where in its minute the
  // first tick started (node-cron fires at :00).
  const since = samples[0]?.at ?? 0;
  const course = samples
    .filter((s) => s.at < startOf(first) && Math.round(s.at - since) % 5_000 < SAMPLE_MS)
    .map((s) => `${Math.round((s.at - since) / 1000)} s ${Math.round(s.mib)}`);
  const offset = (Date.now() - (performance.now() - startOf(first))) % MINUTE;
  console.log(
    `\nidle RSS MiB after the start-up line: ${course.join(', ')}; the first tick started at :` +
      `${(offset / 1000).toFixed(1)} of its minute`,
  );
  for (const r of rows) {
    console.log(
      `${col(r.label, 12)}${col(r.calls)}${col(Math.round(r.ms))}${col(Math.round(r.peak))}` +
        `${col(Math.round(r.before), 18)}${col(r.posted, 8)}${r.outcomes}`,
    );
  }
  const steady = rows.slice(1);
  const steadyPeak = Math.max(...steady.map((r) => r.peak));
  console.log(
    `\nVmHWM ${Math.round(hwm ?? Number.NaN)} MiB (dockhand's high-water mark, the whole run); at the end ` +
      `RssAnon ${Math.round(anon ?? Number.NaN)} MiB, RssFile ${Math.round(file ?? Number.NaN)} MiB; ` +
      `load average ${loads()}` +
      (problems.length > 0 ? `\nwarnings logged by dockhand: ${[...new Set(problems)].join('; ')}` : ''),
  );

  const unit = 'MiB';
  reportFigure({ figure: 'watch_process_idle_rss_mib', value: idle, unit });
  reportFigure({ figure: 'watch_process_cold_tick_peak_rss_mib', value: rows[0]?.peak ?? 0, unit, baseline: idle });
  reportFigure({ figure: 'watch_process_steady_tick_peak_rss_mib', value: steadyPeak, unit, baseline: idle });
  reportFigure({
    figure: 'watch_process_rss_between_ticks_mib',
    value: Math.max(...steady.map((r) => r.before)),
    unit,
    baseline: idle,
  });
  if (hwm !== undefined) reportFigure({ figure: 'watch_process_vmhwm_mib', value: hwm, unit, baseline: idle });
  reportFigure({
    figure: 'watch_process_steady_tick_ms',
    value: Math.max(...steady.map((r) => r.ms)),
    unit: 'ms',
  });
} finally {
  await cleanup();
}
