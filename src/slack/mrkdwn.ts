/**
 * Block Kit limits and mrkdwn escaping in one place. Everything that renders text for Slack goes through here,
 * so a message can never be rejected for length, and user or AWS text can never inject a mention or link.
 *
 * The rule, for blocks and the fallback `text` alike (Slack parses both, and notifies from `text`): data (names,
 * reasons, refs, AWS events, log lines) goes through `escapeText` (or `safe`, `code`, which build on it): it
 * masks secrets and escapes `&`, `<` and `>`. dockhand's own markup (`user`, `date`, group mentions) is added
 * around it, unescaped. test/unit/escaping-property.test.ts holds every builder to this.
 */
import type { HealthState } from '../core/health.ts';
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

/**
 * The one escaping function for data: masks secrets, then escapes the three characters Slack treats as control
 * characters in mrkdwn (`<!channel>` becomes text, not a notification). Everything below builds on it.
 */
export const escapeText = (text: string): string =>
  maskSecrets(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Cuts at a limit, with an ellipsis, counting UTF-16 units as Slack does. A cut never leaves half an entity
 * (`&am`) or half of dockhand's own markup (`<@U0AB`): what was cut into is dropped whole.
 */
export const truncate = (text: string, limit: number): string =>
  text.length <= limit
    ? text
    : `${text
        .slice(0, Math.max(0, limit - 1))
        .replace(/&[a-z]{0,3}$/, '')
        .replace(/<[^<>]*$/, '')}…`;

/** Undoes escapeText: for text that was escaped for Slack once and is shown again (the digest's alerts). */
export const unescapeText = (text: string): string =>
  text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Text from outside (AWS events, logs, git subjects, what users typed): masked, escaped, cut. */
export const safe = (text: string, limit: number = LIMITS.sectionText): string => truncate(escapeText(text), limit);

/** Data as inline code: masked (a ref or a grep someone typed can be a token), escaped, no backticks. */
export const code = (text: string): string => `\`${escapeText(text).replace(/`/g, "'")}\``;

/** A mention of a user id dockhand holds (U…, W…); anything else is data, shown as text. */
export const user = (id: string): string => (/^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : safe(id, 200));

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

/** The emoji of a health state (src/core/health.ts), on status cards and alerts. */
export const HEALTH_EMOJI: Record<HealthState, string> = {
  healthy: ':large_green_circle:',
  deploying: ':large_blue_circle:',
  degraded: ':large_orange_circle:',
  down: ':red_circle:',
};
