/**
 * Where a deployment record keeps the runtime's revisions (`RevisionRef.ref`): the stored fact and request field
 * names follow what a ref is (a task definition ARN, or an image), as the runtime reports it. The names are the
 * store's; no step of the pipeline asks which technology runs a service.
 */
import type { DeploymentFacts, Rollback } from '../../domain/deployment.ts';
import type { DeploymentRecord } from '../../ports.ts';
import type { RevisionRef, Runtime } from '../runtime.ts';

interface RefFields {
  /** The fact naming what the deployment runs (set when it is sent). */
  ref: 'taskDefinitionArn' | 'image';
  /** The fact naming what ran before it (set by the plan, and by a one-step change once done). */
  previous: 'previousTaskDefinitionArn' | 'previousImage';
  /** The word the cards and messages use for one of them. */
  noun: 'revision' | 'image';
}

export const refFields = (runtime: Pick<Runtime, 'revisionKind'>): RefFields =>
  runtime.revisionKind === 'image'
    ? { ref: 'image', previous: 'previousImage', noun: 'image' }
    : { ref: 'taskDefinitionArn', previous: 'previousTaskDefinitionArn', noun: 'revision' };

/** What ran before `deployment`, as its record knows it; undefined when it does not. */
export const previousOf = (runtime: Runtime, deployment: Pick<DeploymentRecord, 'facts'>): RevisionRef | undefined => {
  const ref = deployment.facts[refFields(runtime).previous];
  if (typeof ref !== 'string') return undefined;
  return { ref, revision: deployment.facts.previousRevision ?? ref };
};

/** The facts that say what ran before (`previous` fact and its card name). */
export const previousFacts = (runtime: Runtime, previous: RevisionRef): DeploymentFacts => ({
  [refFields(runtime).previous]: previous.ref,
  previousRevision: previous.revision,
});

/** A rollback request that returns to `to`. */
export const rollbackTo = (runtime: Runtime, to: RevisionRef, rule: string, undoes?: string | undefined): Rollback => ({
  type: 'rollback',
  [refFields(runtime).ref]: to.ref,
  revision: to.revision,
  rule,
  ...(undoes === undefined ? {} : { undoes }),
});

/** The revision a rollback request names. */
export const rollbackRef = (request: Rollback): RevisionRef => ({
  ref: request.taskDefinitionArn ?? request.image ?? '',
  revision: request.revision,
});
