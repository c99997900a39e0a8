import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { benchScripts, parseBenchLines, runBenches } from '../../bench/run.ts';

const node = JSON.stringify(process.execPath);
const print = (lines: string[], exit = 0) =>
  `${node} -e ${JSON.stringify(`${lines.map((l) => `console.log(${JSON.stringify(l)});`).join('')}process.exit(${exit})`)}`;

describe('npm run bench: every bench:* script, its BENCH lines, one summary', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('takes exactly the npm scripts named bench:*, in package.json order', () => {
    expect(
      benchScripts({
        bench: 'node bench/run.ts',
        'bench:ack': 'a',
        test: 'vitest',
        'bench:start': 'b',
        benchmark: 'c',
      }),
    ).toEqual([
      ['bench:ack', 'a'],
      ['bench:start', 'b'],
    ]);
  });

  it('reads the figures of BENCH lines among human output and reports the malformed ones', () => {
    const warnings: string[] = [];
    const figures = parseBenchLines(
      [
        'ack latency, 10 rounds',
        'BENCH {"figure":"ack_p50_ms","value":31.5,"unit":"ms","baseline":30,"ratio":1.05}',
        'BENCH {"figure":"calls","value":12,"unit":"calls"}',
        'BENCH {"figure":"broken","value":"fast","unit":"ms"}',
        'BENCH not json',
        '  BENCH {"figure":"indented","value":1,"unit":"x"}',
      ].join('\n'),
      (m) => warnings.push(m),
    );
    expect(figures).toEqual([
      { figure: 'ack_p50_ms', value: 31.5, unit: 'ms', baseline: 30, ratio: 1.05 },
      { figure: 'calls', value: 12, unit: 'calls' },
    ]);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('"broken"');
  });

  it('runs each bench, records a failed one without stopping, and writes the summary with machine and commit', async () => {
    const root = mkdtempSync(join(tmpdir(), 'dockhand-bench-runner-'));
    dirs.push(root);
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({
        scripts: {
          bench: `${node} -e "require('fs').writeFileSync('ran-the-runner', '')"`,
          'bench:fast': print([
            'fast path',
            'BENCH {"figure":"p50_ms","value":10,"unit":"ms","baseline":8,"ratio":1.25}',
          ]),
          'bench:broken': print(['BENCH {"figure":"partial","value":3,"unit":"calls"}', 'then it failed'], 3),
          'bench:skipped': print(['no Docker engine: skipped']),
        },
      }),
    );
    const out = new PassThrough();
    let shown = '';
    out.on('data', (chunk: Buffer) => {
      shown += chunk.toString();
    });

    const { summary, path } = await runBenches({ root, resultsDir: join(root, 'results'), out });

    expect(existsSync(join(root, 'ran-the-runner'))).toBe(false);
    expect(summary.benches.map((b) => [b.script, b.exitCode, b.figures.length])).toEqual([
      ['bench:fast', 0, 1],
      ['bench:broken', 3, 1],
      ['bench:skipped', 0, 0],
    ]);
    expect(summary.figures).toEqual({
      'fast.p50_ms': { bench: 'fast', figure: 'p50_ms', value: 10, unit: 'ms', baseline: 8, ratio: 1.25 },
      'broken.partial': { bench: 'broken', figure: 'partial', value: 3, unit: 'calls' },
    });
    expect(summary.machine.cpus).toBeGreaterThan(0);
    expect(summary.machine.node).toBe(process.version);
    expect(summary.commit).toBe('unknown'); // not a git repository
    expect(shown).toContain('fast path');
    expect(shown).toContain('no Docker engine: skipped');
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(summary);
    expect(path).toBe(join(root, 'results', 'latest.json'));
  });
});
