import { parseScale } from '../src/core/grammar.ts';
import { auditEmergency, checkChangeWindow } from '../src/core/operate/freeze.ts';
import { checkScaleCount } from '../src/core/operate/scale.ts';
import { resolveTarget } from '../src/core/targets.ts';
import type { CommandHandler } from './boundary.ts';
import type { DeployCommandDeps } from './deploy.ts';
import { announceStarted } from './rollback.ts';

/**
 * `/scale <service> <count> [in <env>]`: parse → resolve → check the environment's bounds (no AWS call when the
 * count is outside) → ack → request a 'scale' operation (lock, card, approval as for deploys, UpdateService).
 */
export const scaleCommand =
  (deps: DeployCommandDeps): CommandHandler =>
  async ({ command, ack, respond }) => {
    const request = parseScale(command.text);
    const target = resolveTarget(deps.config, request.service, request.env);
    const desiredCount = checkScaleCount(target, request.count);
    await ack();
    const emergency = await checkChangeWindow(deps, target, 'scale', request.emergency);
    const outcome = await deps.deployments.request({
      kind: 'scale',
      target,
      user: command.user_id,
      request: { type: 'scale', desiredCount, ...emergency },
    });
    if (outcome.result === 'started' && emergency) await auditEmergency(deps, outcome.deployment, emergency);
    await announceStarted(outcome, command, target, respond);
  };
