import { parseStatus } from '../src/core/grammar.ts';
import { autoScalingDetail } from '../src/core/operate/autoscaling.ts';
import { currentFreeze, listFreezes } from '../src/core/operate/freeze.ts';
import { describeAll, describeOne } from '../src/core/status.ts';
import { resolveTarget } from '../src/core/targets.ts';
import { withAutoScaling } from '../src/slack/blocks/autoscaling.ts';
import { withFreezes } from '../src/slack/blocks/freeze.ts';
import { overviewCard, statusCard } from '../src/slack/blocks/status.ts';
import type { CommandHandler } from './boundary.ts';
import type { CommandDeps } from './deps.ts';

/** `/status [<service>] [in <env>]`: parse → resolve → ack → read the runtime → one card in the channel. */
export const statusCommand =
  (deps: CommandDeps): CommandHandler =>
  async ({ command, ack, respond }) => {
    const request = parseStatus(command.text);
    if (request.service === undefined) {
      await ack();
      const [rows, freezes] = await Promise.all([describeAll(deps), listFreezes(deps)]);
      await respond({ response_type: 'in_channel', ...withFreezes(overviewCard(rows, deps.clock.now()), freezes) });
      return;
    }
    const target = resolveTarget(deps.config, request.service, request.env);
    await ack();
    const freeze = await currentFreeze(deps, target.environment);
    const [snapshot, autoScaling] = await Promise.all([
      describeOne(deps, target),
      autoScalingDetail(deps.runtimes, target, (err) =>
        deps.logger.warn({ err, service: target.service, environment: target.environment }, 'auto scaling unreadable'),
      ),
    ]);
    await respond({
      response_type: 'in_channel',
      ...withFreezes(
        withAutoScaling(statusCard(target, snapshot, deps.clock.now()), autoScaling, target),
        freeze ? [freeze] : [],
      ),
    });
  };
