/**
 * The fake AWS of bench:watch in a process of its own, so that the bench measures the memory of dockhand's watch
 * alone: starts test/support/fake-aws on 127.0.0.1, seeds CLUSTERS × SERVICES services of TASKS tasks each (named
 * `cluster-<c>` / `svc-<c>-<s>`, as bench/watch.ts configures them), prints one line `{"url":"http://…"}` and
 * serves until SIGTERM. bench/watch.ts drives it over HTTP (/_fake/reset-calls, /_fake/calls, /_fake/control).
 * Not a benchmark itself: it is no `bench:*` script.
 *
 *   CLUSTERS=10 SERVICES=100 TASKS=10 node bench/fake-aws-process.ts
 */
import { FakeAws } from '../test/support/fake-aws/index.ts';

const CLUSTERS = Number(process.env.CLUSTERS ?? 10);
const SERVICES_PER_CLUSTER = Number(process.env.SERVICES ?? 100);
const TASKS = Number(process.env.TASKS ?? 10);

const fake = new FakeAws();
for (let c = 0; c < CLUSTERS; c++) {
  for (let s = 0; s < SERVICES_PER_CLUSTER; s++) {
    fake.seedService({
      cluster: `cluster-${c}`,
      service: `svc-${c}-${s}`,
      desiredCount: TASKS,
      containers: [{ name: 'app', image: `acme/svc-${c}-${s}:1` }],
    });
  }
}
const { url } = await fake.start();
process.stdout.write(`${JSON.stringify({ url })}\n`);
process.on('SIGTERM', () => {
  void fake.stop().then(() => process.exit(0));
});
