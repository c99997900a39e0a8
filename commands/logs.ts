import { parseLogs } from '../src/core/grammar.ts';
import { readServiceLogs } from '../src/core/operate/logs.ts';
import { resolveTarget } from '../src/core/targets.ts';
import { environmentApprovers, mayReadLogs, membershipOf } from '../src/domain/policy.ts';
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
    const approvers = environmentApprovers(deps.config, target);
    const decision = await mayReadLogs(target, approvers, command.user_id, membershipOf(deps.directory));
    // Shown as an error (:warning:), as it always was, not as a refusal (:no_entry:).
    if (!decision.allowed) throw new DockhandError('forbidden', decision.message);
    const report = await readServiceLogs(deps, target, { sinceMs: request.sinceMs, grep: request.grep });
    await respond({ response_type: 'ephemeral', replace_original: false, ...logsMessage(report) });
  };
