/**
 * The rollout rule for a rollout in stages (ECS blue/green, DESIGN.md §3.1 extended): the runtime's own verdict on
 * the whole change — its service deployment — decides. SUCCESSFUL is success; a rollback (requested, in progress,
 * done or failed) or a stop is a failure with the runtime's reason; while it is in progress, nothing is done, even
 * where the deployments alone would look finished. Pure: the adapter maps its API's shapes into `StagedRollout`.
 */
import type { RolloutProgress, StagedRollout } from '../../ports.ts';

/** Why a staged rollout that did not succeed failed (the card and the record's reason). */
export const stagedFailure = (staged: StagedRollout): string => {
  const why = staged.reason ? `: ${staged.reason}` : '';
  switch (staged.status) {
    case 'rolling_back':
      return `the blue/green deployment is rolling back${why}`;
    case 'rolled_back':
      return `the blue/green deployment was rolled back${why}`;
    case 'rollback_failed':
      return `the blue/green deployment failed and so did its rollback${why}`;
    default:
      return `the blue/green deployment was stopped${why}`;
  }
};

/**
 * The verdict of one look at a staged rollout: `progress` (the rolling rule's look) judged by `staged`. A successful
 * service deployment completes the rollout only when the rolling rule finds nothing outstanding: the deployment runs
 * as many tasks as it wants, and none of them waits for a healthy target.
 */
export const assessStaged = (progress: RolloutProgress, staged: StagedRollout): RolloutProgress => {
  switch (staged.status) {
    case 'succeeded': {
      const d = progress.deployment;
      const settled = d !== undefined && d.running === d.desired && (progress.unhealthyTargets ?? []).length === 0;
      if (!settled) return { ...progress, staged, outcome: 'in_progress' };
      return { ...progress, staged, outcome: 'completed', reason: undefined };
    }
    case 'in_progress':
      return { ...progress, staged, outcome: progress.outcome === 'completed' ? 'in_progress' : progress.outcome };
    default:
      return { ...progress, staged, outcome: 'failed', reason: stagedFailure(staged) };
  }
};
