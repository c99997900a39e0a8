import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * dockhand's Node flags (V8's heap sizing) are part of how it ships: `npm start`, the image's CMD, the systemd
 * example in the README and the watch benchmark must all run it with the same ones, or the figures in the README
 * describe a process nobody runs.
 */
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const flagsOf = (args: readonly string[]) => args.filter((a) => a.startsWith('--') && a !== '--import');
const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
const scriptFlags = (name: string) => flagsOf((scripts[name] ?? '').split(/\s+/));

describe("dockhand's Node flags", () => {
  const start = scriptFlags('start');

  it('npm start sizes the young generation and bounds the growth of the old one', () => {
    expect(start).toContain('--max-semi-space-size=8');
    expect(start).toContain('--heap-growing-percent=20');
  });

  it("the image fills its compile cache with the CMD's flags (Node keeps a cache per set of V8 flags)", () => {
    const fill = /^RUN node ((?:--\S+ )*)bin\/compile-cache\.js$/m.exec(read('Dockerfile'))?.[1];
    expect(fill).toBeDefined();
    expect(flagsOf((fill ?? '').trim().split(' '))).toEqual(start);
  });

  it("the image's CMD passes the same flags", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(cmd).toBeDefined();
    const args = JSON.parse(cmd ?? '[]') as string[];
    expect(args[0]).toBe('node');
    expect(args.at(-1)).toBe('src/main.ts');
    expect(flagsOf(args)).toEqual(start);
  });

  it("the README's systemd line passes the same flags", () => {
    const execStart = /`ExecStart=(\S+\/node(?: \S+)*? src\/main\.ts)`/.exec(read('README.md'))?.[1];
    expect(execStart).toBeDefined();
    expect(flagsOf((execStart ?? '').split(' '))).toEqual(start);
  });

  it('bench:watch, which runs the watch in its own process, runs with them too', () => {
    expect(scriptFlags('bench:watch')).toEqual(start);
  });
});
