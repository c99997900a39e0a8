import { hostTargetOf } from '../src/core/deploy/host.ts';
import { parseLogs } from '../src/core/grammar.ts';
import { ecsDeployTarget } from '../src/core/operate/ecs-target.ts';
import { readServiceLogs } from '../src/core/operate/logs.ts';
import { resolveTarget } from '../src/core/targets.ts';
import { environmentApprovers, mayReadLogs, membershipOf } from '../src/domain/policy.ts';
import { DockhandError } from '../src/errors.ts';
import type { Directory, DockerHostRuntime, LogReader } from '../src/ports.ts';
import { logsMessage } from '../src/slack/blocks/operate.ts';
import type { CommandHandler } from './boundary.ts';
import type { CommandDeps } from './deps.ts';

export interface LogsCommandDeps extends CommandDeps {
  logs: LogReader;
  host?: DockerHostRuntime | undefined;
  directory: Directory;
}

/** `/logs <service> [in <env>] [since <duration>] [grep <text>]`: the newest lines, to the requester alone. */
export const logsCommand =
  (deps: LogsCommandDeps): CommandHandler =>
  async ({ command, ack, respond }) => {
    const request = parseLogs(command.text);
    const target = resolveTarget(deps.config, request.service, request.env);
    const ecsTarget = hostTargetOf(target) && deps.host ? undefined : ecsDeployTarget(deps.config, target);
    await ack();
    const approvers = environmentApprovers(deps.config, target);
    const decision = await mayReadLogs(target, approvers, command.user_id, membershipOf(deps.directory));
    // Shown as an error (:warning:), as it always was, not as a refusal (:no_entry:).
    if (!decision.allowed) throw new DockhandError('forbidden', decision.message);
    const report = await readServiceLogs(deps, target, ecsTarget, { sinceMs: request.sinceMs, grep: request.grep });
    await respond({ response_type: 'ephemeral', replace_original: false, ...logsMessage(report) });
  };
