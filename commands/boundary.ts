import type { AckFn, RespondArguments, RespondFn, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { asDockhandError, type DockhandError } from '../src/errors.ts';
import { failureReason, failureText } from '../src/slack/replies.ts';
import type { CommandDeps } from './deps.ts';

export { errorText } from '../src/slack/replies.ts';

export type CommandArgs = Pick<SlackCommandMiddlewareArgs, 'command' | 'ack' | 'respond'>;
export type CommandHandler = (args: CommandArgs) => Promise<void>;

/**
 * Errors that mean the request itself was wrong (it does not parse, names nothing known, is not allowed): a
 * refusal (src/domain/policy.ts `Refusal`, code `forbidden`) is one of them.
 */
const USER_MISTAKES = new Set<DockhandError['code']>(['usage', 'not_found', 'forbidden', 'invalid']);

/**
 * Resolves once the event loop has taken the I/O already waiting, i.e. the requests that arrived meanwhile, whose
 * acknowledgements then go out first. Work after an ack (AWS calls, rendering, the audit write) would otherwise run
 * in the same turn, ahead of every request still queued: under a burst of commands that work, not the ack, was what
 * the later requests waited for (bench/ack.ts).
 */
export const afterWaitingRequests = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One request from Slack as the boundary sees it: a slash command or a click on a card's button. */
export interface Invocation {
  kind: 'command' | 'click';
  /** The command ('/deploy') or the button's action id ('approval.approve'): the metrics' label. */
  name: string;
  user: string;
  /** Fields every log line of this request carries. */
  context: Record<string, unknown>;
  /** What the audit trail records of it. */
  audit: { action: string; subject: string | undefined };
}

type Ack = AckFn<string | RespondArguments>;

const LOG_LINES = {
  command: { refused: 'command refused', failed: 'command failed' },
  click: { refused: 'button click refused', failed: 'button action failed' },
} as const;

/**
 * The one boundary every slash command and button click goes through. A click is acknowledged before any work; a
 * command acknowledges itself once it has parsed (so that a mistake is answered in the ack), and the boundary
 * acknowledges on its behalf if it failed before. Work after the ack waits for the requests already waiting
 * (afterWaitingRequests, acksSent). Anything thrown becomes one private reply (a refusal or an error, never a
 * stack trace), one log line with context, a count, and the request's audit event with its outcome: `ok`,
 * `refused` (the user's mistake or a rule said no; nothing changed) or `error`.
 */
export const atBoundary = async (
  deps: CommandDeps,
  invocation: Invocation,
  slack: { ack: Ack; respond: RespondFn },
  work: (ack: Ack) => Promise<void>,
): Promise<void> => {
  let acked = false;
  const trackedAck: Ack = async (response) => {
    acked = true;
    await slack.ack(response);
    await afterWaitingRequests();
    await deps.acksSent?.();
  };
  // Made when a line is written, not before the ack: pino's child() copies and redacts the bindings, work the burst's
  // later requests waited for (bench:ack), and a request that goes through writes no line here.
  let child: CommandDeps['logger'] | undefined;
  const log = () => {
    child ??= deps.logger.child(invocation.context);
    return child;
  };
  const lines = LOG_LINES[invocation.kind];
  let outcome: 'ok' | 'refused' | 'error' = 'ok';
  const run = async () => {
    try {
      if (invocation.kind === 'click') await trackedAck();
      await work(trackedAck);
    } catch (e) {
      const error = asDockhandError(e);
      outcome = USER_MISTAKES.has(error.code) ? 'refused' : 'error';
      // A user's mistake is routine: one info line with what was wrong, no stack trace.
      if (outcome === 'refused') log().info({ code: error.code, reason: failureReason(error) }, lines.refused);
      else if (error.code === 'internal') log().error({ err: error.cause ?? error }, lines.failed);
      else log().info({ code: error.code, err: error }, lines.failed);
      deps.metrics.errors.inc({ code: error.code });
      await reply(acked ? undefined : trackedAck, slack.respond, failureText(error), log);
    } finally {
      if (invocation.kind === 'command') deps.metrics.commands.inc({ command: invocation.name, outcome });
      else deps.metrics.actions.inc({ action: invocation.name, outcome });
      await deps.store
        .appendAudit({
          at: deps.clock.now(),
          actor: invocation.user,
          action: invocation.audit.action,
          subject: invocation.audit.subject,
          outcome,
        })
        .catch((err: unknown) => log().error({ err }, 'could not write the audit event'));
      if (!acked) await slack.ack().catch(() => {});
    }
  };
  await deps.track(run());
};

/** A slash command's handler behind the boundary. */
export const withBoundary =
  (name: string, deps: CommandDeps, handler: CommandHandler): CommandHandler =>
  ({ command, ack, respond }) =>
    atBoundary(
      deps,
      {
        kind: 'command',
        name,
        user: command.user_id,
        context: { command: name, user: command.user_id, channel: command.channel_id },
        audit: { action: 'command', subject: `${name} ${command.text}`.trim().slice(0, 500) },
      },
      { ack, respond },
      (trackedAck) => handler({ command, ack: trackedAck, respond }),
    );

const reply = async (
  ack: Ack | undefined,
  respond: RespondFn,
  text: string,
  log: () => CommandDeps['logger'],
): Promise<void> => {
  try {
    if (ack) await ack({ response_type: 'ephemeral', text });
    else await respond({ response_type: 'ephemeral', replace_original: false, text });
  } catch (err) {
    log().warn({ err }, 'could not tell the user about the failure');
  }
};
