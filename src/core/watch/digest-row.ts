/**
 * What the daily digest says of a service the tick read, pure: from the Runtime snapshot, whatever runs it. The
 * health verdict is the runtime's own rule (an ECS service's deployments and tasks; a Docker host's containers
 * against its replica count), picked by `detail.kind` as evaluate.ts picks the watches' rules; the rest is read
 * from the snapshot's shared fields.
 */
import { assessHealth, assessHostHealth, type HealthState } from '../health.ts';
import type { RuntimeDetail, RuntimeSnapshot } from '../runtime.ts';
import { imageTagOf } from './host.ts';

export interface DigestFacts {
  /** What runs, where the runtime numbers revisions ("api:42"); a Docker host names its engine instead. */
  revision?: string;
  host?: string;
  imageTag?: string;
  running: number;
  desired: number;
  health: HealthState;
  reasons: string[];
}

interface Verdict {
  /** Where the runtime shows it: a numbered revision, or the host. */
  where: { revision: string } | { host: string };
  running: number;
  desired: number;
  state: HealthState;
  reasons: string[];
}

const VERDICTS: {
  [K in RuntimeDetail['kind']]: (s: RuntimeSnapshot, d: Extract<RuntimeDetail, { kind: K }>) => Verdict;
} = {
  ecs: (s, { service }) => {
    const { state, reasons } = assessHealth(service);
    return { where: { revision: s.revision ?? '' }, running: s.running, desired: s.desired, state, reasons };
  },
  docker: (_s, { host, replicas }) => {
    const { state, reasons, running } = assessHostHealth(host, replicas);
    return { where: { host: host.host }, running, desired: replicas, state, reasons };
  },
};

export const digestFacts = (s: RuntimeSnapshot): DigestFacts => {
  const verdict = (VERDICTS[s.detail.kind] as (s: RuntimeSnapshot, d: RuntimeDetail) => Verdict)(s, s.detail);
  return {
    ...verdict.where,
    ...(s.image === undefined ? {} : { imageTag: imageTagOf(s.image) }),
    running: verdict.running,
    desired: verdict.desired,
    health: verdict.state,
    reasons: verdict.reasons,
  };
};
