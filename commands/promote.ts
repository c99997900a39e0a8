import { previousEnvironment } from '../src/core/deploy/promote.ts';
import { parsePromote } from '../src/core/grammar.ts';
import { auditEmergency, checkChangeWindow } from '../src/core/operate/freeze.ts';
import { resolveTarget } from '../src/core/targets.ts';
import type { CommandHandler } from './boundary.ts';
import type { DeployCommandDeps } from './deploy.ts';
import { announceStarted } from './rollback.ts';

/**
 * `/promote <service> [from <env>] to <env> [--dry-run] [--emergency <reason>]`: parse → resolve both environments
 * (no `from`: the one listed just before the target) → ack → the target's freeze and windows (as a deploy) → read
 * the digest the source runs and request its deploy to the target (policy, lock, card, the target's approvals).
 * Refusals are thrown to the boundary, which answers the requester alone; the dry-run plan goes to them too.
 */
export const promoteCommand =
  (deps: DeployCommandDeps): CommandHandler =>
  async ({ command, ack, respond }) => {
    const request = parsePromote(command.text);
    const target = resolveTarget(deps.config, request.service, request.to);
    const source = resolveTarget(deps.config, request.service, request.from ?? previousEnvironment(target));
    await ack();
    // A dry run changes nothing: no freeze or window stops it (it shows the emergency's approvals when asked).
    const emergency = request.dryRun
      ? request.emergency === undefined
        ? undefined
        : { emergency: request.emergency }
      : await checkChangeWindow(deps, target, 'deploy', request.emergency);
    const outcome = await deps.deployments.promote({
      target,
      source,
      user: command.user_id,
      dryRun: request.dryRun,
      ...(emergency ? { extra: emergency } : {}),
    });
    if (outcome.result === 'started' && emergency && 'emergencyCause' in emergency)
      await auditEmergency(deps, outcome.deployment, emergency);
    if (outcome.result === 'dry_run')
      await respond({ response_type: 'ephemeral', ...deps.renderDryRun(outcome.view, deps.clock.now()) });
    else await announceStarted(outcome, command, target, respond);
  };
