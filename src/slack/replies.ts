import { Refusal } from '../domain/policy.ts';
import { type DockhandError, messageForChannel } from '../errors.ts';
import { denialText } from './blocks/refusals.ts';
import { safe } from './mrkdwn.ts';

/** How an error reads in Slack: the message (an AWS error's without AWS's own words) and its remedy, never a stack trace. */
export const errorText = (error: DockhandError): string =>
  `:warning: ${safe(messageForChannel(error), 2500)}${error.hint ? `\n${safe(error.hint, 400)}` : ''}`;

/**
 * What a refusal says: a rule's denial worded here (it may mention the deployers or approvers), or the refusal's own
 * text, dockhand's, with any user text in it already made safe where it was written.
 */
export const refusalReason = (refusal: Refusal): string =>
  refusal.denial ? denialText(refusal.denial) : refusal.message;

/** How a refusal reads in Slack. */
export const refusalText = (refusal: Refusal): string => `:no_entry: ${refusalReason(refusal)}`;

/** What the log line of a request that did not go through says it was: the words its reply shows. */
export const failureReason = (error: DockhandError): string =>
  error instanceof Refusal ? refusalReason(error) : error.message;

/** The one reply to a request that did not go through, for the requester or clicker alone. */
export const failureText = (error: DockhandError): string =>
  error instanceof Refusal ? refusalText(error) : errorText(error);
