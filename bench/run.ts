/**
 * `npm run bench`: runs every benchmark, i.e. every npm script named `bench:*` in package.json (so a new bench is
 * one script line; helpers such as bench/support.ts are never run), one after the other, shows their output as it
 * comes, collects their `BENCH {json}` lines, and writes one summary, with the machine and the commit, to
 * bench/results/latest.json (and a copy named after the time and commit, to compare landings), then prints it.
 * A bench that needs what is missing (a Docker engine) prints a notice and no figure; one that fails is recorded
 * as failed, the others still run, and the exit code is 1.
 *
 *   npm run bench                 (BENCH_ONLY=ack,rss to run some; BENCH_RESULTS=<dir> to write elsewhere)
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { BENCH_PREFIX, type Figure } from './figures.ts';

export interface BenchRun {
  /** The npm script, e.g. bench:ack. */
  script: string;
  command: string;
  exitCode: number;
  durationMs: number;
  figures: Figure[];
}

export interface BenchSummary {
  at: string;
  commit: string;
  machine: { cpus: number; cpuModel: string; memoryMiB: number; loadAverage: number[]; node: string; platform: string };
  benches: BenchRun[];
  /** Every figure of every bench, named by its bench: { "ack.ack_p50_ms": {…} }. */
  figures: Record<string, Figure & { bench: string }>;
}

/** The benchmarks: npm scripts named `bench:<name>`, in package.json order. */
export const benchScripts = (scripts: Record<string, string>): [string, string][] =>
  Object.entries(scripts).filter(([name]) => name.startsWith('bench:'));

const isFigure = (value: unknown): value is Figure => {
  if (!value || typeof value !== 'object') return false;
  const f = value as Record<string, unknown>;
  const optionalNumber = (v: unknown) => v === undefined || (typeof v === 'number' && Number.isFinite(v));
  return (
    typeof f.figure === 'string' &&
    typeof f.value === 'number' &&
    Number.isFinite(f.value) &&
    typeof f.unit === 'string' &&
    optionalNumber(f.baseline) &&
    optionalNumber(f.ratio)
  );
};

/** The figures in a bench's output: lines `BENCH {json}`; a malformed one is reported, not taken. */
export const parseBenchLines = (output: string, warn: (message: string) => void = () => {}): Figure[] => {
  const figures: Figure[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith(BENCH_PREFIX)) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.slice(BENCH_PREFIX.length));
    } catch {
      parsed = undefined;
    }
    if (isFigure(parsed)) figures.push(parsed);
    else warn(`ignored a malformed figure line: ${line.slice(0, 200)}`);
  }
  return figures;
};

const commitOf = (root: string): string => {
  try {
    const sha = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain'], {
        cwd: root,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() !== '';
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
};

const runOne = (
  root: string,
  script: string,
  command: string,
  out: NodeJS.WritableStream,
  env: NodeJS.ProcessEnv,
): Promise<BenchRun> =>
  new Promise((resolve) => {
    const started = performance.now();
    // As npm runs a script: through the shell, with node_modules/.bin (Node 24) first on PATH.
    const child = spawn('sh', ['-c', command], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...env, PATH: `${join(root, 'node_modules', '.bin')}:${env.PATH ?? ''}` },
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      out.write(chunk);
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => out.write(chunk));
    child.once('close', (code, signal) => {
      const figures = parseBenchLines(output, (message) => out.write(`${script}: ${message}\n`));
      resolve({
        script,
        command,
        exitCode: code ?? (signal ? 128 : 1),
        durationMs: Math.round(performance.now() - started),
        figures,
      });
    });
  });

export interface RunBenchesOptions {
  /** The project: its package.json names the benches; they run there. */
  root: string;
  /** Where the summary goes (default <root>/bench/results). */
  resultsDir?: string;
  /** Only these benches (names without `bench:`). */
  only?: readonly string[];
  out?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

export const runBenches = async (options: RunBenchesOptions): Promise<{ summary: BenchSummary; path: string }> => {
  const { root } = options;
  const out = options.out ?? process.stdout;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const selected = benchScripts(pkg.scripts ?? {}).filter(
    ([name]) => !options.only?.length || options.only.includes(name.slice('bench:'.length)),
  );
  const benches: BenchRun[] = [];
  for (const [script, command] of selected) {
    out.write(`\n── ${script}: ${command}\n`);
    benches.push(await runOne(root, script, command, out, options.env ?? process.env));
  }
  const figures: BenchSummary['figures'] = {};
  for (const bench of benches) {
    const name = bench.script.slice('bench:'.length);
    for (const figure of bench.figures) figures[`${name}.${figure.figure}`] = { bench: name, ...figure };
  }
  const at = new Date().toISOString();
  const commit = commitOf(root);
  const summary: BenchSummary = {
    at,
    commit,
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryMiB: Math.round(totalmem() / 1048576),
      loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    benches,
    figures,
  };
  const dir = options.resultsDir ?? join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(summary, null, 2)}\n`;
  const path = join(dir, 'latest.json');
  writeFileSync(path, text);
  writeFileSync(join(dir, `${at.replace(/[:.]/g, '-')}-${commit.slice(0, 12)}.json`), text);
  return { summary, path };
};

if (import.meta.main) {
  const only = (process.env.BENCH_ONLY ?? '').split(',').filter(Boolean);
  const { summary, path } = await runBenches({
    root: new URL('../', import.meta.url).pathname,
    ...(process.env.BENCH_RESULTS ? { resultsDir: process.env.BENCH_RESULTS } : {}),
    only,
  });
  console.log(`\n── summary (${path})`);
  console.log(JSON.stringify(summary, null, 2));
  const failed = summary.benches.filter((b) => b.exitCode !== 0);
  if (failed.length > 0) {
    console.error(`failed: ${failed.map((b) => `${b.script} (exit ${b.exitCode})`).join(', ')}`);
    process.exitCode = 1;
  }
}
