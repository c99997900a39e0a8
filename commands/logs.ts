import { parseLogs } from '../src/core/grammar.ts';
import { approversOf } from '../src/core/operate/locks.ts';
import { readServiceLogs } from '../src/core/operate/logs.ts';
import { resolveTarget } from '../src/core/targets.ts';
import { DockhandError } from '../src/errors.ts';
import type { Directory } from '../src/ports.ts';
import { logsMessage } from '../src/slack/blocks/operate.ts';
import type { CommandHandler } from './boundary.ts';
import type { CommandDeps } from './deps.ts';

export interface LogsCommandDeps extends CommandDeps {
  directory: Directory;
}

/** `/logs <service> [in <env>] [since <duration>] [grep <text>]`: the newest lines, to the requester alone. */
export const logsCommand =
  (deps: LogsCommandDeps): CommandHandler =>
  async ({ command, ack, respond }) => {
    const request = parseLogs(command.text);
    const target = resolveTarget(deps.config, request.service, request.env);
    // A target whose runtime this process does not have is refused before the ack.
    deps.runtimes.for(target);
    await ack();
    // Logs can say more than a status card: a service that names its deployers shows them to its deployers and
    // approvers only.
    const deployers = target.serviceConfig.deployers;
    if (
      deployers &&
      !(await deps.directory.includes([...deployers, ...approversOf(deps.config, target)], command.user_id))
    ) {
      throw new DockhandError(
        'forbidden',
        `Only the deployers and approvers of \`${target.service}\` may read its logs.`,
      );
    }
    const report = await readServiceLogs(deps, target, { sinceMs: request.sinceMs, grep: request.grep });
    await respond({ response_type: 'ephemeral', replace_original: false, ...logsMessage(report) });
  };
