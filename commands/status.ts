import { parseStatus } from '../src/core/grammar.ts';
import { describeAll, describeOne } from '../src/core/status.ts';
import { resolveTarget } from '../src/core/targets.ts';
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
      const rows = await describeAll(deps);
      await respond({ response_type: 'in_channel', ...overviewCard(rows, deps.clock.now()) });
      return;
    }
    const target = resolveTarget(deps.config, request.service, request.env);
    await ack();
    const snapshot = await describeOne(deps, target);
    await respond({ response_type: 'in_channel', ...statusCard(target, snapshot, deps.clock.now()) });
  };
