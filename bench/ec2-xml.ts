/**
 * Allocation and time of parsing one EC2 DescribeNetworkInterfaces answer of 1,000 ENIs (100 services × 10 tasks,
 * as the fake AWS renders it for the watch benchmark), with dockhand's parser (src/adapters/aws/query-xml.ts) and,
 * as the baseline, the AWS SDK's `parseXML` (@aws-sdk/xml-builder) that ec2-query.ts used before. The allocation is
 * every byte allocated during a parse, garbage included (V8's sampling heap profiler, keeping the samples of
 * objects collected since): what makes V8 grow its young generation. A benchmark, not a test: it asserts nothing.
 *
 *   npm run bench:ec2-xml            (ENIS=1000 PARSES=20 to change it)
 */
import { Session } from 'node:inspector/promises';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import { parseQueryXml } from '../src/adapters/aws/query-xml.ts';
import { ec2Answer, FakeAws } from '../test/support/fake-aws/index.ts';
import { reportFigure } from './figures.ts';

const ENIS = Number(process.env.ENIS ?? 1000);
const PARSES = Number(process.env.PARSES ?? 20);

const require = createRequire(import.meta.url);
const { parseXML } = require('@aws-sdk/xml-builder') as typeof import('@aws-sdk/xml-builder');

const fake = new FakeAws();
for (let s = 0; s * 10 < ENIS; s++) {
  fake.seedService({
    cluster: 'prod',
    service: `svc-${s}`,
    desiredCount: Math.min(10, ENIS - s * 10),
    containers: [{ name: 'app', image: 'acme/app:1' }],
  });
}
// As the HTTP handler gives it: a string decoded from the body's bytes (past 1 MB, an external string).
const xml = Buffer.from(ec2Answer(fake, 'DescribeNetworkInterfaces', {})).toString('utf8');

interface ProfileNode {
  selfSize: number;
  children: ProfileNode[];
}
const sampled = (node: ProfileNode): number => node.children.reduce((sum, c) => sum + sampled(c), node.selfSize);

/** Bytes allocated per call, collected or not (each sample stands for ~256 bytes, scaled by V8). */
const allocatedPerCall = async (fn: () => unknown): Promise<number> => {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (let i = 0; i < PARSES; i++) fn();
  const { profile } = await session.post('HeapProfiler.stopSampling');
  session.disconnect();
  return sampled(profile.head as ProfileNode) / PARSES;
};

const medianMs = (fn: () => unknown): number => {
  const times: number[] = [];
  for (let i = 0; i < PARSES; i++) {
    const started = performance.now();
    fn();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)] ?? Number.NaN;
};

const measure = async (parse: (xml: string) => unknown) => {
  for (let i = 0; i < 5; i++) parse(xml); // warm up: optimised code, as in a long-running dockhand
  return { mib: (await allocatedPerCall(() => parse(xml))) / 2 ** 20, ms: medianMs(() => parse(xml)) };
};

// The SDK's parser keeps attributes (the root's xmlns); ours reads past them. Otherwise the trees are the same.
const sdkTree = parseXML(xml) as { DescribeNetworkInterfacesResponse: Record<string, unknown> };
delete sdkTree.DescribeNetworkInterfacesResponse.xmlns;
const same = isDeepStrictEqual(sdkTree, parseQueryXml(xml));

const sdk = await measure(parseXML);
const ours = await measure(parseQueryXml);
console.log(`DescribeNetworkInterfaces answer: ${fake.enis.size} ENIs, ${(xml.length / 1e6).toFixed(2)} MB of XML`);
console.log(`  same tree from both parsers: ${same}`);
console.log(`  @aws-sdk/xml-builder parseXML: ${sdk.mib.toFixed(2)} MiB allocated, ${sdk.ms.toFixed(1)} ms per parse`);
console.log(
  `  query-xml parseQueryXml:       ${ours.mib.toFixed(2)} MiB allocated, ${ours.ms.toFixed(1)} ms per parse`,
);
reportFigure({ figure: 'ec2_xml_alloc_mib', value: ours.mib, unit: 'MiB', baseline: sdk.mib });
reportFigure({ figure: 'ec2_xml_parse_ms', value: ours.ms, unit: 'ms', baseline: sdk.ms });
