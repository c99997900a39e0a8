import type { types } from '@slack/bolt';

export type KnownBlock = types.KnownBlock;

/** What every card builder returns: blocks plus the plain-text fallback Slack shows in notifications. */
export interface Card {
  text: string;
  blocks: KnownBlock[];
}
