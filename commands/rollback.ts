import type { RespondFn, SlashCommand } from '@slack/bolt';
import type { RequestOutcome } from '../src/core/deploy/service.ts';
import { parseRollback } from '../src/core/grammar.ts';
import { auditEmergency, checkChangeWindow } from '../src/core/operate/freeze.ts';
import { type ResolvedTarget, resolveTarget } from '../src/core/targets.ts';
import type { CommandHandler } from './boundary.ts';
import type { DeployCommandDeps } from './deploy.ts';

/**
 * `/rollback <service> [to <env>] [<revision>]`: parse → resolve → ack → pick the revision (the one before the last
 * successful deployment, the previous ACTIVE one, or the one named) → request a 'rollback' (lock, card, approval).
 */
export const rollbackCommand =
  (deps: DeployCommandDeps): CommandHandler =>
  async ({ command, ack, respond }) => {
    const request = parseRollback(command.text);
    const target = resolveTarget(deps.config, request.service, request.env);
    await ack();
    const emergency = await checkChangeWindow(deps, target, 'rollback', request.emergency);
    const outcome = await deps.deployments.rollbackTo(target, command.user_id, request.revision, { ...emergency });
    if (outcome.result === 'started' && emergency) await auditEmergency(deps, outcome.deployment, emergency);
    await announceStarted(outcome, command, target, respond);
  };

/** A started operation says where its card is when that is elsewhere (a refusal was thrown to the boundary). */
export const announceStarted = async (
  outcome: RequestOutcome,
  command: Pick<SlashCommand, 'channel_id' | 'channel_name'>,
  target: ResolvedTarget,
  respond: RespondFn,
): Promise<void> => {
  if (
    outcome.result === 'started' &&
    command.channel_name !== target.channel.replace(/^#/, '') &&
    command.channel_id !== target.channel
  ) {
    await respond({
      response_type: 'ephemeral',
      text: `#${outcome.deployment.seq} (${outcome.deployment.kind} of \`${target.service}\` in \`${target.environment}\`) requested; its card is in ${target.channel}.`,
    });
  }
};
