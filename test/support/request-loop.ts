// A client that keeps asking a service by its stable name while something replaces the service's containers, and
// reports how many requests failed and the longest time without a successful answer (issue 11, item 8).
//
// The test engine runs with --bridge=none, so the loop runs *inside* the service's user-defined network: a busybox
// container doing `wget http://<name>/` in a bounded loop, one line per request ("ok <body>" or "fail"). The
// engine's log timestamps (nanoseconds) give the timing; nothing on the host needs to reach the containers.
import type Docker from 'dockerode';
import { chunkLines, demultiplex, parseTimestamped } from '../../src/adapters/docker/host-runtime.ts';

export interface RequestLoopReport {
  requests: number;
  failed: number;
  /** Longest time between two successful answers (or from the first request to the first success), in ms. */
  longestGapMs: number;
  /** Most failures in a row (a name that resolves to nothing fails every request until it does again). */
  longestFailureStreak: number;
  /** How many answers carried each body ("v1", "v2"…). */
  bodies: Record<string, number>;
}

export interface RequestLoop {
  /** Waits until `n` more requests have succeeded than had when called, at most `timeoutMs` (then throws). */
  waitForMoreSuccesses(n: number, timeoutMs?: number): Promise<void>;
  /** Ends the loop, reads its log, removes the client container. */
  stop(): Promise<RequestLoopReport>;
}

export interface RequestLoopOptions {
  /** The user-defined network the service's containers are on. */
  network: string;
  /** An image with busybox `sh`, `wget` and `usleep`. */
  image: string;
  /** The client container's name (unique per test). */
  name: string;
  /** What to ask, e.g. http://web/ */
  url: string;
  /** Upper bound on requests (the loop ends by itself after that many). Default 20 000. */
  maxRequests?: number;
  /** Pause between requests, in microseconds. Default 5 000. */
  pauseMicros?: number;
}

const script = (url: string, max: number, pause: number): string =>
  [
    'i=0',
    `while [ $i -lt ${max} ]; do`,
    // (busybox-static's `wget -T` crashes in these images: `timeout` bounds each request instead)
    `  if body=$(timeout 3 wget -q -O - '${url}' 2>/dev/null); then echo "ok $body"; else echo fail; fi`,
    '  i=$((i+1))',
    `  usleep ${pause}`,
    'done',
  ].join('\n');

export const analyseRequestLog = (lines: readonly { at: Date; message: string }[]): RequestLoopReport => {
  const report: RequestLoopReport = { requests: 0, failed: 0, longestGapMs: 0, longestFailureStreak: 0, bodies: {} };
  let lastOk: number | undefined;
  let first: number | undefined;
  let streak = 0;
  for (const { at, message } of lines) {
    const t = at.getTime();
    first ??= t;
    if (message === 'fail') {
      report.requests += 1;
      report.failed += 1;
      streak += 1;
      report.longestFailureStreak = Math.max(report.longestFailureStreak, streak);
    } else if (message.startsWith('ok')) {
      report.requests += 1;
      streak = 0;
      const body = message.slice(3).trim();
      report.bodies[body] = (report.bodies[body] ?? 0) + 1;
      report.longestGapMs = Math.max(report.longestGapMs, t - (lastOk ?? first));
      lastOk = t;
    }
  }
  return report;
};

export const startRequestLoop = async (docker: Docker, options: RequestLoopOptions): Promise<RequestLoop> => {
  const container = await docker.createContainer({
    name: options.name,
    Image: options.image,
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: [script(options.url, options.maxRequests ?? 20_000, options.pauseMicros ?? 5_000)],
    Labels: { 'dockhand.test': 'request-loop' },
    HostConfig: { NetworkMode: options.network },
  });
  await container.start();

  const read = async (): Promise<{ at: Date; message: string }[]> => {
    const body = await container.logs({ stdout: true, stderr: true, timestamps: true });
    const buffer = Buffer.isBuffer(body) ? body : Buffer.from(String(body));
    return chunkLines(demultiplex(buffer, false))
      .map(parseTimestamped)
      .filter((l) => l !== undefined);
  };

  return {
    async waitForMoreSuccesses(n, timeoutMs = 20_000) {
      const successes = async () => (await read()).filter((l) => l.message.startsWith('ok')).length;
      const wanted = (await successes()) + n;
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ok = await successes();
        if (ok >= wanted) return;
        if (Date.now() > deadline)
          throw new Error(
            `the request loop had ${ok - wanted + n} of ${n} more successes after ${timeoutMs} ms: ${JSON.stringify(analyseRequestLog(await read()))}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await container.kill().catch(() => {});
      const report = analyseRequestLog(await read());
      await container.remove({ force: true }).catch(() => {});
      return report;
    },
  };
};
