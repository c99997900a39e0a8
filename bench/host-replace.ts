/**
 * Failed requests during a Docker-host replace (issue 11, item 8): a client inside the service's network asks
 * http://<container>/ in a loop (test/support/request-loop.ts) while the service is deployed v1 → v2, scaled to 2,
 * scaled back to 1 and rolled back to v1. Printed per operation: requests, failed, longest gap between two answers.
 * The same run measures the baseline dockhand had before: "remove the old container, then rename the new one"
 * (and, for scale, "rename <name> to <name>-1, then start <name>-2"), done here by hand with the same engine calls.
 *
 *   eval "$(bash scripts/test-services.sh env)" && npm run bench:host-replace      (ROUNDS=3 to change)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { EngineHostRuntime, LABELS } from '../src/adapters/docker/host-runtime.ts';
import { DockerImageBuilder } from '../src/adapters/docker/image-builder.ts';
import { systemClock } from '../src/adapters/system-clock.ts';
import type { DockerHostTarget } from '../src/ports.ts';
import { dockerFromEnv, makeBusyboxContext, randomTag } from '../test/support/docker.ts';
import { type RequestLoopReport, startRequestLoop } from '../test/support/request-loop.ts';
import { reportFigure } from './figures.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 1);
const docker = await dockerFromEnv();
if (!docker) {
  // Like bench:build-push: no engine, no figure (npm run bench goes on with the others).
  console.log('bench:host-replace: no Docker engine (bash scripts/test-services.sh start, then eval its env): skipped');
  process.exit(0);
}
const engine: Docker = docker;
const run = randomTag('bench-hr').toLowerCase();
const network = `dockhand-${run}`;
const dir = await mkdtemp(join(tmpdir(), 'dockhand-bench-hr-'));
const image = (version: string) => `dockhand-bench/host-replace:${run}-${version}`;

const build = async (version: string) => {
  await makeBusyboxContext(dir, {
    dockerfileExtra: [
      `RUN mkdir -p /www && echo ${version} > /www/index.html`,
      'STOPSIGNAL SIGKILL',
      'HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["/bin/sh","-c","wget -q -O /dev/null http://127.0.0.1:80/ || exit 1"]',
      'CMD ["httpd","-f","-p","80","-h","/www"]',
    ].join('\n'),
  });
  await new DockerImageBuilder(engine).build({
    contextDir: dir,
    dockerfile: 'Dockerfile',
    buildArgs: {},
    tags: [image(version)],
  });
};

const runtime = new EngineHostRuntime({
  clock: systemClock,
  networkMode: network,
  pollMs: 250,
  healthTimeoutMs: 30_000,
});
let services = 0;
const newTarget = (): DockerHostTarget => {
  services += 1;
  return {
    service: `${run}-s${services}`,
    environment: 'bench',
    host: process.env.DOCKER_HOST ?? '',
    container: `${run}-web${services}`,
    ports: [],
    env: {},
    volumes: [],
    replicas: 1,
  };
};

/** The loop running while `operation` does its work, from 20 answers before to 20 answers after. */
const measure = async (
  name: string,
  url: string,
  operation: () => Promise<unknown>,
): Promise<RequestLoopReport & { answersAgain: boolean }> => {
  const loop = await startRequestLoop(engine, { network, image: image('v1'), name: `${run}-loop-${name}`, url });
  let answersAgain = true;
  try {
    // The baseline's scale 2→1 starts where its scale 1→2 left the name: answering nothing.
    await loop.waitForMoreSuccesses(20, 10_000).catch(() => {});
    await operation();
    // The baseline's scale to 2 leaves no container under the stable name: it never answers again.
    await loop.waitForMoreSuccesses(20, 10_000).catch(() => {
      answersAgain = false;
    });
  } catch (e) {
    await loop.stop();
    throw e;
  }
  return { ...(await loop.stop()), answersAgain };
};

// --- baseline: what dockhand did before (remove, then rename) ---------------------------------------------------
const waitHealthy = async (id: string) => {
  for (let i = 0; i < 120; i++) {
    const info = await engine.getContainer(id).inspect();
    if (info.State.Health?.Status === 'healthy') return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${id} never became healthy`);
};
const baselineCreate = async (t: DockerHostTarget, name: string, version: string) => {
  const c = await engine.createContainer({
    name,
    Image: image(version),
    Labels: { [LABELS.service]: t.service, [LABELS.environment]: t.environment },
    HostConfig: { NetworkMode: network },
  });
  await c.start();
  await waitHealthy(c.id);
  return c.id;
};
const baselineDeploy = async (t: DockerHostTarget, version: string) => {
  const old = await engine.listContainers({ all: true, filters: { label: [`${LABELS.service}=${t.service}`] } });
  const id = await baselineCreate(t, `${t.container}-next-${version}`, version);
  for (const c of old) await engine.getContainer(c.Id).remove({ force: true });
  await engine.getContainer(id).rename({ name: t.container });
};
const baselineScaleUp = async (t: DockerHostTarget) => {
  await engine.getContainer(t.container).rename({ name: `${t.container}-1` });
  await baselineCreate(t, `${t.container}-2`, 'v2');
};
const baselineScaleDown = async (t: DockerHostTarget) => {
  await engine.getContainer(`${t.container}-1`).rename({ name: t.container });
  await engine.getContainer(`${t.container}-2`).remove({ force: true });
};

type Row = { strategy: string; operation: string; answersAgain: boolean } & RequestLoopReport;
const rows: Row[] = [];
const strategies = {
  dockhand: {
    deploy: (t: DockerHostTarget, v: string) =>
      runtime.deploy({ target: t, image: image(v), pull: false, deploymentId: `dep_${v}${services}` }),
    scaleUp: (t: DockerHostTarget) => runtime.scale(t, 2, 'dep_scale2'),
    scaleDown: (t: DockerHostTarget) => runtime.scale(t, 1, 'dep_scale1'),
  },
  'baseline (remove, then rename)': { deploy: baselineDeploy, scaleUp: baselineScaleUp, scaleDown: baselineScaleDown },
};

try {
  await engine.createNetwork({ Name: network, Driver: 'bridge', Labels: { 'dockhand.bench': run } });
  await build('v1');
  await build('v2');
  for (let round = 0; round < ROUNDS; round++) {
    for (const [strategy, ops] of Object.entries(strategies)) {
      const t = newTarget();
      await ops.deploy(t, 'v1');
      const steps: [string, () => Promise<unknown>][] = [
        ['deploy v1→v2', () => ops.deploy(t, 'v2')],
        ['scale 1→2', () => ops.scaleUp(t)],
        ['scale 2→1', () => ops.scaleDown(t)],
        ['rollback v2→v1', () => ops.deploy(t, 'v1')],
      ];
      for (const [operation, fn] of steps) {
        const report = await measure(`${services}-${rows.length}`, `http://${t.container}/`, fn);
        rows.push({ strategy, operation, ...report });
      }
    }
  }
} finally {
  const leftovers = await engine.listContainers({ all: true, filters: { label: [LABELS.service] } });
  for (const c of leftovers.filter((c) => c.Labels[LABELS.service]?.startsWith(run)))
    await engine
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => {});
  await engine
    .getNetwork(network)
    .remove()
    .catch(() => {});
  for (const v of ['v1', 'v2'])
    await engine
      .getImage(image(v))
      .remove({ force: true })
      .catch(() => {});
  await rm(dir, { recursive: true, force: true });
}

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const line = (strategy: string, operation: string, requests: number, failed: number, streak: number, gap: string) =>
  console.log(`${pad(strategy, 32)}${pad(operation, 16)}${pad(requests, 10)}${pad(failed, 8)}${pad(streak, 8)}${gap}`);
console.log(
  `${pad('strategy', 32)}${pad('operation', 16)}${pad('requests', 10)}${pad('failed', 8)}${pad('in a row', 8)}longest gap`,
);
for (const r of rows) {
  const note = r.answersAgain ? '' : ' (the name answered no more)';
  line(r.strategy, r.operation, r.requests, r.failed, r.longestFailureStreak, `${r.longestGapMs} ms${note}`);
}
for (const strategy of Object.keys(strategies)) {
  const mine = rows.filter((r) => r.strategy === strategy);
  const sum = (f: (r: Row) => number) => mine.reduce((a, r) => a + f(r), 0);
  const most = (f: (r: Row) => number) => Math.max(...mine.map(f));
  line(
    strategy,
    'total',
    sum((r) => r.requests),
    sum((r) => r.failed),
    most((r) => r.longestFailureStreak),
    `${most((r) => r.longestGapMs)} ms`,
  );
}

// For npm run bench: dockhand's failed requests and longest gap beside the remove-then-rename baseline.
const totals = (strategy: string) => {
  const mine = rows.filter((r) => r.strategy === strategy);
  return {
    failed: mine.reduce((a, r) => a + r.failed, 0),
    requests: mine.reduce((a, r) => a + r.requests, 0),
    gapMs: Math.max(0, ...mine.map((r) => r.longestGapMs)),
  };
};
const ours = totals('dockhand');
const baseline = totals('baseline (remove, then rename)');
reportFigure({
  figure: 'host_replace_failed_requests',
  value: ours.failed,
  unit: 'requests',
  baseline: baseline.failed,
});
reportFigure({ figure: 'host_replace_requests', value: ours.requests, unit: 'requests', baseline: baseline.requests });
reportFigure({ figure: 'host_replace_longest_gap_ms', value: ours.gapMs, unit: 'ms', baseline: baseline.gapMs });
