import { Refusal } from '../domain/policy.ts';
import type { DockhandError } from '../errors.ts';
import { safe } from './mrkdwn.ts';

/** How an error reads in Slack: the message and its remedy, never a stack trace. */
export const errorText = (error: DockhandError): string =>
  `:warning: ${safe(error.message, 2500)}${error.hint ? `\n${safe(error.hint, 400)}` : ''}`;

/**
 * How a refusal reads in Slack. Its message is dockhand's own text (it may mention the deployers or approvers), with
 * any user text in it already made safe where it was written.
 */
export const refusalText = (refusal: Refusal): string => `:no_entry: ${refusal.message}`;

/** The one reply to a request that did not go through, for the requester or clicker alone. */
export const failureText = (error: DockhandError): string =>
  error instanceof Refusal ? refusalText(error) : errorText(error);
