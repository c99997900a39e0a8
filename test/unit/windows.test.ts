import { describe, expect, it } from 'vitest';
import {
  activeFreeze,
  type ChangePolicy,
  changeGate,
  type Freeze,
  formatLocal,
  isInsideWindows,
  isTimeZone,
  localTime,
  nextOpening,
  parseUntil,
  type Windows,
  zonedInstant,
} from '../../src/domain/windows.ts';
import { gateText } from '../../src/slack/blocks/refusals.ts';

const at = (iso: string): Date => new Date(iso);

const BERLIN_OFFICE: Windows = {
  timeZone: 'Europe/Berlin',
  open: [{ days: ['mon', 'tue', 'wed', 'thu'], from: '09:00', to: '17:00' }],
};

describe('deploy windows read in a named time zone', () => {
  it('is open at 09:00 Berlin and closed at 08:59, in winter (UTC+1) and in summer (UTC+2)', () => {
    // Wednesday 2026-01-14: CET.
    expect(isInsideWindows(BERLIN_OFFICE, at('2026-01-14T08:00:00Z'))).toBe(true);
    expect(isInsideWindows(BERLIN_OFFICE, at('2026-01-14T07:59:00Z'))).toBe(false);
    expect(isInsideWindows(BERLIN_OFFICE, at('2026-01-14T15:59:00Z'))).toBe(true);
    expect(isInsideWindows(BERLIN_OFFICE, at('2026-01-14T16:00:00Z'))).toBe(false);
    // Wednesday 2026-07-15: CEST.
    expect(isInsideWindows(BERLIN_OFFICE, at('2026-07-15T07:00:00Z'))).toBe(true);
    expect(isInsideWindows(BERLIN_OFFICE, at('2026-07-15T06:59:00Z'))).toBe(false);
  });

  it('reads the day in the zone, not in UTC: Thursday 23:30 in New York is Friday in UTC', () => {
    const nyEvenings: Windows = { timeZone: 'America/New_York', open: [{ days: ['thu'], from: '22:00', to: '24:00' }] };
    expect(isInsideWindows(nyEvenings, at('2026-03-06T04:30:00Z'))).toBe(true); // Thu 23:30 EST
    expect(isInsideWindows(nyEvenings, at('2026-03-06T05:30:00Z'))).toBe(false); // Fri 00:30 EST
  });

  it('lets a window run past midnight, and past the end of the week', () => {
    const nights: Windows = { timeZone: 'Asia/Tokyo', open: [{ days: ['sun'], from: '22:00', to: '02:00' }] };
    expect(isInsideWindows(nights, at('2026-03-08T13:30:00Z'))).toBe(true); // Sun 22:30 JST
    expect(isInsideWindows(nights, at('2026-03-08T16:59:00Z'))).toBe(true); // Mon 01:59 JST
    expect(isInsideWindows(nights, at('2026-03-08T17:00:00Z'))).toBe(false); // Mon 02:00 JST
  });

  it('says when the next window opens, across a weekend, in the zone’s own offset', () => {
    // Thursday 2026-01-15 17:30 Berlin → Monday 2026-01-19 09:00 Berlin = 08:00Z.
    expect(nextOpening(BERLIN_OFFICE, at('2026-01-15T16:30:00Z'))?.toISOString()).toBe('2026-01-19T08:00:00.000Z');
    expect(nextOpening(BERLIN_OFFICE, at('2026-01-14T10:00:00Z'))).toBeUndefined();
  });

  it('knows that the clocks changed over the weekend (Berlin springs forward on 2026-03-29)', () => {
    // Friday 2026-03-27 12:00 CET → Monday 2026-03-30 09:00 CEST = 07:00Z, not 08:00Z.
    expect(nextOpening(BERLIN_OFFICE, at('2026-03-27T11:00:00Z'))?.toISOString()).toBe('2026-03-30T07:00:00.000Z');
    // And back in autumn (2026-10-25): Monday 2026-10-26 09:00 CET = 08:00Z.
    expect(nextOpening(BERLIN_OFFICE, at('2026-10-23T11:00:00Z'))?.toISOString()).toBe('2026-10-26T08:00:00.000Z');
  });

  it('opens a window whose start the spring-forward skips at the first minute that exists', () => {
    // New York skips 02:00–03:00 on Sunday 2026-03-08.
    const early: Windows = { timeZone: 'America/New_York', open: [{ days: ['sun'], from: '02:30', to: '05:00' }] };
    const opens = nextOpening(early, at('2026-03-08T05:00:00Z')); // Sun 00:00 EST
    expect(opens).toBeDefined();
    expect(localTime(opens as Date, 'America/New_York')).toMatchObject({ weekday: 'sun', hour: 3, minute: 30 });
    expect(isInsideWindows(early, opens as Date)).toBe(true);
  });

  it('finds no opening in a schedule that has none', () => {
    expect(nextOpening({ timeZone: 'UTC', open: [] }, at('2026-01-14T10:00:00Z'))).toBeUndefined();
  });
});

describe('wall-clock times to instants', () => {
  it('takes the first of the two 01:30s when New York falls back', () => {
    const first = zonedInstant({ year: 2026, month: 11, day: 1, hour: 1, minute: 30 }, 'America/New_York');
    expect(first.toISOString()).toBe('2026-11-01T05:30:00.000Z'); // EDT
  });

  it('moves a time the spring-forward skips to just after the change', () => {
    const skipped = zonedInstant({ year: 2026, month: 3, day: 29, hour: 2, minute: 30 }, 'Europe/Berlin');
    expect(skipped.toISOString()).toBe('2026-03-29T01:30:00.000Z'); // 03:30 CEST
  });

  it('formats an instant as people in the zone read it', () => {
    expect(formatLocal(at('2026-12-07T08:00:00Z'), 'Europe/Berlin')).toBe('Mon 2026-12-07 09:00 Europe/Berlin');
    expect(formatLocal(at('2026-12-07T08:00:00Z'), 'Australia/Sydney')).toBe('Mon 2026-12-07 19:00 Australia/Sydney');
  });

  it('knows real time zones from made-up ones', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});

describe('freezes', () => {
  const freeze: Freeze = {
    environment: 'production',
    by: 'U0ALICE',
    at: at('2026-12-20T00:00:00Z'),
    until: at('2027-01-04T08:00:00Z'),
    reason: 'holidays',
  };

  it('is in force from its start until its end, and ends by itself', () => {
    expect(activeFreeze(freeze, at('2026-12-19T23:59:59Z'))).toBeUndefined();
    expect(activeFreeze(freeze, at('2026-12-25T12:00:00Z'))).toBe(freeze);
    expect(activeFreeze(freeze, at('2027-01-04T08:00:00Z'))).toBeUndefined();
    expect(activeFreeze({ ...freeze, until: undefined }, at('2030-01-01T00:00:00Z'))).toBeDefined();
  });

  const policy: ChangePolicy = { environment: 'production', windows: BERLIN_OFFICE, rollbackDuringFreeze: true };

  it('refuses a deploy during a freeze and says when it ends, in the windows’ time zone', () => {
    const gate = changeGate(policy, 'deploy', freeze, at('2026-12-22T10:00:00Z'));
    expect(gate).toMatchObject({ open: false, cause: 'freeze', environment: 'production', timeZone: 'Europe/Berlin' });
    expect(gate.open ? '' : gateText(gate)).toBe(
      '`production` is frozen (holidays) by <@U0ALICE> until Mon 2027-01-04 09:00 Europe/Berlin.',
    );
  });

  it('refuses a scale outside the windows and says when the next opens', () => {
    const gate = changeGate(policy, 'scale', undefined, at('2026-12-04T12:00:00Z')); // Friday
    expect(gate).toMatchObject({ open: false, cause: 'window', opensAt: at('2026-12-07T08:00:00Z') });
    expect(gate.open ? '' : gateText(gate)).toContain('The next window opens Mon 2026-12-07 09:00 Europe/Berlin.');
    expect(gate.open ? '' : gateText(gate)).toContain('mon–thu 09:00–17:00 (Europe/Berlin)');
  });

  it('lets a rollback through a freeze unless the policy forbids it', () => {
    const during = at('2026-12-22T10:00:00Z');
    expect(changeGate(policy, 'rollback', freeze, during)).toEqual({ open: true });
    expect(changeGate({ ...policy, rollbackDuringFreeze: false }, 'rollback', freeze, during)).toMatchObject({
      open: false,
      cause: 'freeze',
    });
  });

  it('opens when there is neither a freeze nor a window rule', () => {
    expect(changeGate({ environment: 'staging', rollbackDuringFreeze: true }, 'deploy', undefined, new Date())).toEqual(
      { open: true },
    );
  });
});

describe('until <time>', () => {
  const now = at('2026-12-02T10:00:00Z');
  it('reads dates and times in the zone, ISO times with their offset, and a bare time as its next occurrence', () => {
    expect(parseUntil('2026-12-24', 'Europe/Berlin', now)?.toISOString()).toBe('2026-12-23T23:00:00.000Z');
    expect(parseUntil('2026-12-24T18:00', 'America/New_York', now)?.toISOString()).toBe('2026-12-24T23:00:00.000Z');
    expect(parseUntil('2026-12-24 18:00', 'UTC', now)?.toISOString()).toBe('2026-12-24T18:00:00.000Z');
    expect(parseUntil('2026-12-24T18:00+01:00', 'UTC', now)?.toISOString()).toBe('2026-12-24T17:00:00.000Z');
    expect(parseUntil('2026-12-24T18:00Z', 'Europe/Berlin', now)?.toISOString()).toBe('2026-12-24T18:00:00.000Z');
    expect(parseUntil('18:00', 'Europe/Berlin', now)?.toISOString()).toBe('2026-12-02T17:00:00.000Z');
    expect(parseUntil('09:00', 'Europe/Berlin', now)?.toISOString()).toBe('2026-12-03T08:00:00.000Z');
  });

  it('refuses what is not a time', () => {
    for (const text of ['tomorrow', '2026-02-30', '25:00', '2026-12-24T18:61', '1700', '24:00']) {
      expect(parseUntil(text, 'UTC', now), text).toBeUndefined();
    }
  });
});
