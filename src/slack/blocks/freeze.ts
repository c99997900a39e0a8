import { describeWindows, type Freeze, formatLocal, type Windows } from '../../domain/windows.ts';
import { code, date, escapeText, LIMITS, lines, safe, truncate, user } from '../mrkdwn.ts';
import type { Card, KnownBlock } from './types.ts';

/** Messages of `/dockhand freeze | unfreeze`: pure functions of the freeze and the environment's windows. */

const section = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) },
});
const fallback = (text: string): string => truncate(text, LIMITS.fallbackText);

const endOf = (freeze: Freeze, timeZone: string | undefined): string =>
  freeze.until
    ? `until ${date(freeze.until)}${timeZone ? ` (${formatLocal(freeze.until, timeZone)})` : ''}`
    : 'until someone unfreezes it';

const reasonOf = (freeze: Freeze): string => (freeze.reason ? `: ${safe(freeze.reason, 300)}` : '');

/** Announced in the channel: who froze what, until when, and how to break the glass. */
export const frozenMessage = (freeze: Freeze, timeZone: string | undefined): Card => {
  const env = escapeText(freeze.environment);
  return {
    text: fallback(`${user(freeze.by)} froze ${env}${reasonOf(freeze)}`),
    blocks: [
      section(
        `:snowflake: ${user(freeze.by)} froze *${env}* ${endOf(freeze, timeZone)}${reasonOf(freeze)}. Deploys and scaling wait; in an emergency add ${code('--emergency <reason>')} (one more approval). ${code(`/dockhand unfreeze ${freeze.environment}`)} ends it.`,
      ),
    ],
  };
};

export const unfrozenMessage = (freeze: Freeze, by: string): Card => {
  const env = escapeText(freeze.environment);
  return {
    text: fallback(`${user(by)} unfroze ${env}`),
    blocks: [
      section(
        `:sunny: ${user(by)} unfroze *${env}* (frozen by ${user(freeze.by)} since ${date(freeze.at)}${reasonOf(freeze)}).`,
      ),
    ],
  };
};

/** `/dockhand freeze` alone: the freezes in force and every environment's windows. */
export const freezesMessage = (
  freezes: readonly Freeze[],
  windows: readonly { environment: string; windows: Windows }[],
  zoneOf: (environment: string) => string | undefined,
): Card => {
  const frozen = freezes.map(
    (f) =>
      `• :snowflake: *${escapeText(f.environment)}* frozen by ${user(f.by)} ${endOf(f, zoneOf(f.environment))}${reasonOf(f)}`,
  );
  const open = windows.map((w) => `• *${escapeText(w.environment)}* deploys ${escapeText(describeWindows(w.windows))}`);
  const heading = freezes.length === 0 ? 'No environment is frozen.' : `Frozen: ${freezes.length}`;
  return {
    text: fallback(heading),
    blocks: [
      section(lines([`*${heading}*`, ...frozen])),
      ...(open.length > 0 ? [section(lines(['*Deploy windows*', ...open]))] : []),
    ],
  };
};

/** A status card with a line per freeze in force among the environments it shows (unchanged when there is none). */
export const withFreezes = <C extends Card>(card: C, freezes: readonly Freeze[]): C =>
  freezes.length === 0
    ? card
    : {
        ...card,
        blocks: [
          ...card.blocks,
          {
            type: 'context',
            elements: freezes.slice(0, 10).map((f) => ({
              type: 'mrkdwn' as const,
              text: truncate(
                `:snowflake: *${escapeText(f.environment)}* is frozen ${endOf(f, undefined)}${reasonOf(f)}`,
                2000,
              ),
            })),
          },
        ],
      };
