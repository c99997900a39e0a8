/**
 * The words of a staged (ECS blue/green) rollout on the deployment card: the stage it is in, the way through the
 * five phases a person follows (scale-up, test traffic, production traffic, bake time, clean-up), the bake time
 * left, and how a rollback or an Abort is said. Pure: the stage is data from the runtime (RolloutProgress.staged).
 */
import { formatDuration } from '../../core/duration.ts';
import { maskSecrets } from '../../logger.ts';
import type { RolloutStage, StagedRollout } from '../../ports.ts';
import { code, date, escapeText, truncate } from '../mrkdwn.ts';
import type { KnownBlock } from './types.ts';

/** The phases the card lists, in order. */
const PHASES = ['Scale-up', 'Test traffic', 'Production traffic', 'Bake time', 'Clean-up'] as const;

/** Which phase each stage belongs to. */
const PHASE_OF: Record<RolloutStage, number> = {
  reconcile: 0,
  pre_scale_up: 0,
  scale_up: 0,
  post_scale_up: 0,
  test_traffic: 1,
  post_test_traffic: 1,
  pre_production_traffic: 2,
  production_traffic: 2,
  post_production_traffic: 2,
  bake: 3,
  clean_up: 4,
};

/** What a stage means, as the status of a rollout in it. */
const STAGE_WORDS: Record<RolloutStage, string> = {
  reconcile: 'Reconciling the service before the green revision starts',
  pre_scale_up: 'Preparing to start the green revision',
  scale_up: 'Starting the green revision beside the blue one',
  post_scale_up: 'The green revision runs; production traffic stays on blue',
  test_traffic: 'Shifting test traffic to the green revision',
  post_test_traffic: 'Test traffic is on the green revision',
  pre_production_traffic: 'About to shift production traffic to the green revision',
  production_traffic: 'Shifting production traffic to the green revision',
  post_production_traffic: 'Production traffic is on the green revision',
  bake: 'Bake time: both revisions run, production traffic is on green',
  clean_up: 'Cleaning up: the blue revision is being stopped',
};

const STATUS_WORDS: Record<Exclude<StagedRollout['status'], 'in_progress'>, string> = {
  succeeded: 'ECS finished the blue/green deployment',
  rolling_back: 'ECS is rolling the blue/green deployment back: production traffic returns to blue',
  rolled_back: 'ECS rolled the blue/green deployment back: blue serves production again',
  rollback_failed: 'ECS could not roll the blue/green deployment back',
  stopped: 'ECS stopped the blue/green deployment',
};

const outside = (text: string, limit: number): string => truncate(escapeText(maskSecrets(text)), limit);

const bakeText = (s: StagedRollout): string => {
  if (s.bakeLeftMs !== undefined) {
    const of = s.bakeMinutes === undefined ? '' : ` of ${formatDuration(s.bakeMinutes * 60_000)}`;
    return s.bakeLeftMs > 0 ? `${formatDuration(s.bakeLeftMs)} left${of}` : `over${of ? ` (${of.slice(4)})` : ''}`;
  }
  return s.bakeMinutes === undefined ? '' : formatDuration(s.bakeMinutes * 60_000);
};

/** "✓ Scale-up → ✓ Test traffic → ▶ *Production traffic* → Bake time (5m) → Clean-up". */
const trail = (s: StagedRollout, aborted = false): string => {
  const at = s.status === 'succeeded' ? PHASES.length : s.stage === undefined ? -1 : PHASE_OF[s.stage];
  const stopped = aborted || (s.status !== 'in_progress' && s.status !== 'succeeded');
  return PHASES.map((name, i) => {
    const label = i === 3 && s.bakeMinutes !== undefined ? `${name} (${formatDuration(s.bakeMinutes * 60_000)})` : name;
    if (i < at) return `:white_check_mark: ${label}`;
    if (i === at) return stopped ? `:x: *${label}*` : `:arrow_forward: *${label}*`;
    return label;
  }).join(' → ');
};

/** The line under the status: what the stage means now, or how ECS ended or is undoing it. */
const stageLine = (s: StagedRollout): string => {
  if (s.status !== 'in_progress') {
    const where = s.stage === undefined ? '' : ` during ${PHASES[PHASE_OF[s.stage]]?.toLowerCase()}`;
    const why = s.reason ? ` — ${outside(s.reason, 500)}` : '';
    return `*${STATUS_WORDS[s.status]}*${s.status === 'succeeded' ? '' : where}${why}`;
  }
  if (s.stage === undefined) return '*Blue/green deployment in progress*';
  const bake = s.stage === 'bake' ? bakeText(s) : '';
  return `*${STAGE_WORDS[s.stage]}*${bake ? ` — ${bake}` : ''}`;
};

/** The card's blocks for a staged rollout: the stage line and the way through the phases. */
export const stagedBlocks = (s: StagedRollout): KnownBlock[] => [
  { type: 'section', text: { type: 'mrkdwn', text: truncate(`:large_blue_circle: ${stageLine(s)}`, 3000) } },
  { type: 'context', elements: [{ type: 'mrkdwn', text: trail(s) }] },
];

/** The rollout timeout, extended by the bake time: "⏳ The rollout timeout (30m) is extended by the 2h bake time…". */
export const timeoutExtendedText = (t: { until: Date; timeout: string; bakeMinutes: number }): string =>
  `:hourglass_flowing_sand: The rollout timeout (${escapeText(t.timeout)}) is extended by the ` +
  `${formatDuration(t.bakeMinutes * 60_000)} bake time: dockhand follows this rollout until ${date(t.until)}.`;

/** For the plain-text fallback of a rolling-out card: "bake time, 4m left". */
export const stagedSummary = (s: StagedRollout): string => {
  if (s.status !== 'in_progress') return s.status.replace('_', ' ');
  if (s.stage === undefined) return 'blue/green';
  const phase = (PHASES[PHASE_OF[s.stage]] ?? '').toLowerCase();
  const left = s.stage === 'bake' && s.bakeLeftMs !== undefined ? `, ${formatDuration(s.bakeLeftMs)} left` : '';
  return `${phase}${left}`;
};

/**
 * The aborted card's blocks for a blue/green rollout: the phase it was stopped in, and how the Abort was carried out
 * (`rolledBack`: ECS's own rollback, StopServiceDeployment ROLLBACK; otherwise an UpdateService to `previous`).
 */
export const stagedAbortBlocks = (
  s: StagedRollout,
  previous: string | undefined,
  rolledBack: boolean,
): KnownBlock[] => {
  const where = s.stage === undefined ? '' : ` during ${PHASES[PHASE_OF[s.stage]]?.toLowerCase()}`;
  const back = previous ? ` to ${code(previous)}` : '';
  const note = rolledBack
    ? `Aborted${where}: ECS rolls the blue/green deployment back${back} (StopServiceDeployment, ROLLBACK); production traffic returns to blue.`
    : `Aborted${where}: ECS returns the service${back}.`;
  return [{ type: 'context', elements: [{ type: 'mrkdwn', text: `${trail(s, true)}\n${note}` }] }];
};
