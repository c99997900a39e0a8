import type { AllMiddlewareArgs, RespondArguments, RespondFn, ViewResponseAction } from '@slack/bolt';
import { Refusal } from '../src/domain/policy.ts';
import { asDockhandError, type DockhandError, UsageError } from '../src/errors.ts';
import { failureReason } from '../src/slack/replies.ts';

/**
 * A submission is answered (`response_action`) within Slack's 3 s: a request still at work after this long closes
 * the modal, and what it says later reaches the user as a private message, like a typed command's.
 */
export const SUBMISSION_ANSWER_MS = 2000;

/** The mistakes a modal shows on a field (the modal stays open); anything else closes it. */
const USER_MISTAKES = new Set<DockhandError['code']>(['usage', 'not_found', 'forbidden', 'invalid']);

/**
 * An error as a modal field shows it: plain text (no mrkdwn, mentions as @id), with its hint, but not a typed
 * command's usage line: the form is the usage.
 */
export const fieldErrorText = (error: DockhandError): string =>
  `${failureReason(error)}${error.hint && !(error instanceof Refusal) && !(error instanceof UsageError) ? ` ${error.hint}` : ''}`
    .replace(/`/g, '')
    .replace(/<!subteam\^(\w+)>/g, '@$1')
    .replace(/<@(\w+)>/g, '@$1')
    .slice(0, 1000);

export interface ModalSubmission {
  /** The one answer to the submission (later calls do nothing); give it to the boundary as its ack. */
  answer(response?: ViewResponseAction): Promise<void>;
  /** What the boundary says to the user alone: a private message in the channel the modal came from. */
  respond: RespondFn;
  /**
   * Runs the submission's work inside the boundary: when it ends, or after SUBMISSION_ANSWER_MS, `trackedAck` closes
   * the modal; a user's mistake found before that is shown on the field `fieldOf` names, and the modal stays open.
   * The error is thrown on, for the boundary's audit and metrics.
   */
  run(
    trackedAck: () => Promise<void>,
    work: () => Promise<void>,
    fieldOf: (error: DockhandError) => string,
  ): Promise<void>;
}

/** How the deploy form and the approve-with-reason dialog answer Slack: one answer, errors on fields, the rest privately. */
export const modalSubmission = (options: {
  ack: (response?: ViewResponseAction) => Promise<void>;
  client: AllMiddlewareArgs['client'];
  user: string;
  /** Where the modal was opened from (its private metadata); no channel: nothing is posted. */
  channel: string | undefined;
}): ModalSubmission => {
  const { ack, client, user, channel } = options;
  let answered = false;
  let shownInModal = false;
  const answer = async (response?: ViewResponseAction): Promise<void> => {
    if (answered) return;
    answered = true;
    await ack(response);
  };
  const respond: RespondFn = async (message) => {
    const content: RespondArguments = typeof message === 'string' ? { text: message } : message;
    const { response_type: _type, replace_original: _replace, delete_original: _delete, ...rest } = content;
    if (!shownInModal && channel) {
      await client.chat.postEphemeral({ ...rest, channel, user, text: rest.text ?? '' });
    }
    // What a response_url would have answered: there is none for a view, the message went by the Web API.
    return new Response(null, { status: 200 });
  };
  const run: ModalSubmission['run'] = async (trackedAck, work, fieldOf) => {
    const deadline = setTimeout(() => void trackedAck().catch(() => {}), SUBMISSION_ANSWER_MS);
    try {
      await work();
      clearTimeout(deadline);
      await trackedAck();
    } catch (e) {
      clearTimeout(deadline);
      const error = asDockhandError(e);
      if (!answered && USER_MISTAKES.has(error.code)) {
        shownInModal = true;
        await answer({ response_action: 'errors', errors: { [fieldOf(error)]: fieldErrorText(error) } });
      } else if (!answered) await trackedAck(); // closes the modal; the boundary's reply goes to the user
      throw e;
    }
  };
  return { answer, respond, run };
};
