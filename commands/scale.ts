import { parseScale } from '../src/core/grammar.ts';
import { boundsRequest, checkBoundsRequest, checkCountNotAutoScaled } from '../src/core/operate/autoscaling.ts';
import { auditEmergency, checkChangeWindow } from '../src/core/operate/freeze.ts';
import { checkScaleCount } from '../src/core/operate/scale.ts';
import { resolveTarget } from '../src/core/targets.ts';
import type { DeploymentRequest } from '../src/domain/deployment.ts';
import type { CommandHandler } from './boundary.ts';
import type { DeployCommandDeps } from './deploy.ts';
import { announceStarted } from './rollback.ts';

/**
 * `/scale <service> <count> | <min>..<max> [in <env>]`: parse → resolve → check the environment's bounds (no AWS
 * call when outside) → ack → the change window → ask the runtime's auto scaler (a count it owns is refused, naming
 * the bounds command; bounds need one) → request a 'scale' operation (lock, card, approval as for deploys, then
 * UpdateService for a count, RegisterScalableTarget for bounds).
 */
export const scaleCommand =
  (deps: DeployCommandDeps): CommandHandler =>
  async ({ command, ack, respond }) => {
    const request = parseScale(command.text);
    const target = resolveTarget(deps.config, request.service, request.env);
    const asked =
      request.bounds === undefined
        ? { count: checkScaleCount(target, request.count) }
        : { bounds: checkBoundsRequest(target, request.bounds) };
    await ack();
    const emergency = await checkChangeWindow(deps, target, 'scale', request.emergency);
    let scale: DeploymentRequest;
    if (asked.bounds === undefined) {
      await checkCountNotAutoScaled(deps.runtimes, target, asked.count, (error) =>
        deps.logger.warn(
          { service: target.service, environment: target.environment, err: error.message },
          'cannot read the auto scaling of the service (add application-autoscaling:DescribeScalableTargets to the role); scaling by count without checking it',
        ),
      );
      scale = { type: 'scale', desiredCount: asked.count, ...emergency };
    } else {
      scale = { ...(await boundsRequest(deps.runtimes, target, asked.bounds)), ...emergency };
    }
    const outcome = await deps.deployments.request({
      kind: 'scale',
      target,
      user: command.user_id,
      request: scale,
    });
    if (outcome.result === 'started' && emergency) await auditEmergency(deps, outcome.deployment, emergency);
    await announceStarted(outcome, command, target, respond);
  };
