import type { AckFn, RespondArguments, RespondFn, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { asDockhandError, type DockhandError } from '../src/errors.ts';
import { safe } from '../src/slack/mrkdwn.ts';
import type { CommandDeps } from './deps.ts';

export type CommandArgs = Pick<SlackCommandMiddlewareArgs, 'command' | 'ack' | 'respond'>;
export type CommandHandler = (args: CommandArgs) => Promise<void>;

/** Errors that mean the request itself was wrong (it does not parse, names nothing known, is not allowed). */
const USER_MISTAKES = new Set<DockhandError['code']>(['usage', 'not_found', 'forbidden', 'invalid']);

/** How an error reads in Slack: the message and its remedy, never a stack trace. */
export const errorText = (error: DockhandError): string =>
  `:warning: ${safe(error.message, 2500)}${error.hint ? `\n${safe(error.hint, 400)}` : ''}`;

/**
 * Resolves once the event loop has taken the I/O already waiting, i.e. the requests that arrived meanwhile, whose
 * acknowledgements then go out first. Work after an ack (AWS calls, rendering, the audit write) would otherwise run
 * in the same turn, ahead of every request still queued: under a burst of commands that work, not the ack, was what
 * the later requests waited for (bench/ack.ts).
 */
export const afterWaitingRequests = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The one boundary every slash command goes through: it acknowledges on the handler's behalf if the handler
 * failed before doing so, shows the failure to the requester alone, logs it with context, counts it, and writes
 * the command to the audit trail with its outcome.
 */
export const withBoundary =
  (name: string, deps: CommandDeps, handler: CommandHandler): CommandHandler =>
  async ({ command, ack, respond }) => {
    let acked = false;
    const trackedAck: AckFn<string | RespondArguments> = async (response) => {
      acked = true;
      await ack(response);
      await afterWaitingRequests();
      await deps.acksSent?.();
    };
    const log = deps.logger.child({ command: name, user: command.user_id, channel: command.channel_id });
    let outcome = 'ok';
    const run = async () => {
      try {
        await handler({ command, ack: trackedAck, respond });
      } catch (e) {
        const error = asDockhandError(e);
        outcome = USER_MISTAKES.has(error.code) ? 'refused' : 'error';
        // A user's mistake is routine: one info line with what was wrong, no stack trace.
        if (outcome === 'refused') log.info({ code: error.code, reason: error.message }, 'command refused');
        else if (error.code === 'internal') log.error({ err: error.cause ?? error }, 'command failed');
        else log.info({ code: error.code, err: error }, 'command failed');
        deps.metrics.errors.inc({ code: error.code });
        await reply(acked ? undefined : trackedAck, respond, errorText(error), log);
      } finally {
        deps.metrics.commands.inc({ command: name, outcome });
        await deps.store
          .appendAudit({
            at: deps.clock.now(),
            actor: command.user_id,
            action: 'command',
            subject: `${name} ${command.text}`.trim().slice(0, 500),
            outcome,
          })
          .catch((err: unknown) => log.error({ err }, 'could not write the audit event'));
        if (!acked) await ack().catch(() => {});
      }
    };
    await deps.track(run());
  };

const reply = async (
  ack: AckFn<string | RespondArguments> | undefined,
  respond: RespondFn,
  text: string,
  log: CommandDeps['logger'],
): Promise<void> => {
  try {
    if (ack) await ack({ response_type: 'ephemeral', text });
    else await respond({ response_type: 'ephemeral', replace_original: false, text });
  } catch (err) {
    log.warn({ err }, 'could not tell the user about the failure');
  }
};
