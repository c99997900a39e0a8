/**
 * Block Kit limits and mrkdwn escaping in one place. Everything that renders text for Slack goes through here,
 * so a message can never be rejected for length, and user or AWS text can never inject a mention or link.
 */
import { maskSecrets } from '../logger.ts';

export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  field: 2000,
  fields: 10,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  fallbackText: 4000,
} as const;

/** Escapes the three characters Slack treats as control characters in mrkdwn. */
export const escapeText = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Cuts at a limit, with an ellipsis, counting UTF-16 units as Slack does. */
export const truncate = (text: string, limit: number): string =>
  text.length <= limit ? text : `${text.slice(0, Math.max(0, limit - 1))}…`;

/** Text from outside (AWS events, logs, git subjects): masked, escaped, cut. */
export const safe = (text: string, limit: number = LIMITS.sectionText): string =>
  truncate(escapeText(maskSecrets(text)), limit);

export const code = (text: string): string => `\`${escapeText(text).replace(/`/g, "'")}\``;

export const user = (id: string): string => (/^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : escapeText(id));

/**
 * A Slack date token that renders in the reader's time zone ("Nov 20, 2026 10:00 AM", "Yesterday 10:00 AM"), with a
 * UTC fallback. Every card writes times this one way.
 */
export const date = (at: Date): string =>
  `<!date^${Math.floor(at.getTime() / 1000)}^{date_short_pretty} {time}|${at.toISOString().replace(/\.\d+Z$/, 'Z')}>`;

/** Joins lines into one mrkdwn text under the limit, saying how many were left out. */
export const lines = (items: readonly string[], limit: number = LIMITS.sectionText): string => {
  const out: string[] = [];
  let length = 0;
  for (const [i, item] of items.entries()) {
    const more = `…and ${items.length - i} more`;
    if (length + item.length + 1 + more.length + 1 > limit) {
      out.push(more);
      break;
    }
    out.push(item);
    length += item.length + 1;
  }
  return out.join('\n');
};

/** `▰▰▰▰▱▱` for 4 of 6. */
export const bar = (done: number, total: number, width = 10): string => {
  if (total <= 0) return '▱'.repeat(width);
  const filled = Math.max(0, Math.min(width, Math.round((done / total) * width)));
  return '▰'.repeat(filled) + '▱'.repeat(width - filled);
};
