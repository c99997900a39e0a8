import type { DeploymentService } from '../src/core/deploy/service.ts';
import type { RenderDeployment } from '../src/core/deploy/view.ts';
import { parseDeploy } from '../src/core/grammar.ts';
import { auditEmergency, checkChangeWindow } from '../src/core/operate/freeze.ts';
import { checkDeployArguments, resolveTarget } from '../src/core/targets.ts';
import type { CommandHandler } from './boundary.ts';
import type { CommandDeps } from './deps.ts';

export interface DeployCommandDeps extends CommandDeps {
  deployments: DeploymentService;
  renderDryRun: RenderDeployment;
}

/**
 * `/deploy <service> [<git-ref> | image:<tag>] [to <env>] [--restart] [--dry-run]`: parse → resolve → ack →
 * request (authorize, lock, card, plan, approval or run). The dry-run plan goes to the requester alone, and so does a
 * refusal (thrown; the boundary replies).
 */
export const deployCommand =
  (deps: DeployCommandDeps): CommandHandler =>
  async ({ command, ack, respond }) => {
    const request = parseDeploy(command.text);
    const target = resolveTarget(deps.config, request.service, request.env);
    checkDeployArguments(target, request);
    await ack();
    const kind = request.restart ? 'restart' : 'deploy';
    // A dry run changes nothing: no freeze or window stops it (it shows the emergency's approvals when asked).
    const emergency = request.dryRun
      ? request.emergency === undefined
        ? undefined
        : { emergency: request.emergency }
      : await checkChangeWindow(deps, target, kind, request.emergency);
    const outcome = await deps.deployments.request({
      kind,
      target,
      user: command.user_id,
      request: {
        ...(request.imageTag
          ? { type: 'image', imageTag: request.imageTag }
          : request.restart
            ? { type: 'restart' }
            : { type: 'git', ...(request.ref === undefined ? {} : { ref: request.ref }) }),
        ...emergency,
      },
      dryRun: request.dryRun,
    });
    if (outcome.result === 'started' && emergency && 'emergencyCause' in emergency) {
      await auditEmergency(deps, outcome.deployment, emergency);
    }
    if (outcome.result === 'dry_run') {
      await respond({ response_type: 'ephemeral', ...deps.renderDryRun(outcome.view, deps.clock.now()) });
    } else if (command.channel_name !== target.channel.replace(/^#/, '') && command.channel_id !== target.channel) {
      await respond({
        response_type: 'ephemeral',
        text: `Deployment #${outcome.deployment.seq} of \`${target.service}\` to \`${target.environment}\` requested; its card is in ${target.channel}.`,
      });
    }
  };
