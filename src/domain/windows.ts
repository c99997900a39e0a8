/**
 * Deploy windows and freezes: when changes may reach an environment. Pure functions of the config's windows, the
 * stored freeze and the moment asked about (the caller's Clock); local days and hours are read in the window's
 * named IANA time zone through Intl, so daylight-saving changes are the time zone database's, not ours.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** One opening: on these local days, from `from` to `to` (HH:MM; `to` at or before `from` runs past midnight). */
export interface WindowRule {
  days: readonly Weekday[];
  from: string;
  to: string;
}

/** An environment's deploy windows (dockhand.yml `windows:`). */
export interface Windows {
  timeZone: string;
  open: readonly WindowRule[];
}

/** A freeze of an environment (every service's environment of that name), as stored. */
export interface Freeze {
  environment: string;
  by: string;
  at: Date;
  /** undefined: until someone unfreezes it. */
  until?: Date | undefined;
  reason?: string | undefined;
}

/** The operations a freeze or a closed window stops (ports.ts OperationKind; /promote will be one, see below). */
export type GatedKind = 'deploy' | 'restart' | 'rollback' | 'scale';

/**
 * Why a change may not go ahead now, and until when, as data: the freeze in force, or the windows and when the next
 * opens; times are read in `timeZone` (the windows' zone, UTC without windows). The Slack layer words it
 * (src/slack/blocks/refusals.ts, through the `change_closed` denial of src/domain/policy.ts).
 */
export type ClosedGate =
  | { open: false; cause: 'freeze'; environment: string; freeze: Freeze; timeZone: string }
  | {
      open: false;
      cause: 'window';
      environment: string;
      windows: Windows;
      opensAt: Date | undefined;
      timeZone: string;
    };

/** Whether a change may go ahead now, and if not, why and until when. */
export type Gate = { open: true } | ClosedGate;

const MINUTES_PER_DAY = 24 * 60;
const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;

const formatters = new Map<string, Intl.DateTimeFormat>();
const formatterFor = (timeZone: string): Intl.DateTimeFormat => {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
};

/** True when Intl knows the time zone ("Europe/Berlin", "UTC"). */
export const isTimeZone = (timeZone: string): boolean => {
  try {
    formatterFor(timeZone);
    return true;
  } catch {
    return false;
  }
};

/** The wall clock of `at` in `timeZone`. */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  weekday: Weekday;
}

export const localTime = (at: Date, timeZone: string): LocalTime => {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(timeZone).formatToParts(at)) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: (parts.weekday ?? 'Mon').toLowerCase().slice(0, 3) as Weekday,
  };
};

/** How far `timeZone`'s wall clock is ahead of UTC at `at`, in ms. */
const offsetAt = (at: number, timeZone: string): number => {
  const t = localTime(new Date(at), timeZone);
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) - Math.floor(at / 1000) * 1000;
};

/**
 * The instant a wall-clock time in `timeZone` names. A time that does not exist (skipped by a spring-forward) is
 * read as the same time before the change, which lands just after it; an ambiguous one (a fall-back) as its first.
 */
export const zonedInstant = (
  local: Pick<LocalTime, 'year' | 'month' | 'day' | 'hour' | 'minute'>,
  timeZone: string,
): Date => {
  const asUtc = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
  const before = offsetAt(asUtc - MINUTES_PER_DAY * 60_000, timeZone);
  const after = offsetAt(asUtc + MINUTES_PER_DAY * 60_000, timeZone);
  // The earlier offset first (the first of two ambiguous instants); if it does not give back the wall time asked
  // for, the later one.
  for (const offset of [Math.max(before, after), Math.min(before, after)]) {
    const candidate = asUtc - offset;
    const back = localTime(new Date(candidate), timeZone);
    if (back.hour === local.hour && back.minute === local.minute && back.day === local.day) return new Date(candidate);
  }
  return new Date(asUtc - before);
};

const clock = (hhmm: string): number | undefined => {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(hhmm);
  if (!match) return undefined;
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return minutes <= MINUTES_PER_DAY ? minutes : undefined;
};

/** "09:00" → 540; undefined for anything that is not a time of day (24:00 is the end of a day). */
export const minutesOfDay = clock;

/** The minutes of the week (Monday 00:00 = 0) a rule covers, as [start, end) ranges that may pass the week's end. */
const rangesOf = (rule: WindowRule): [number, number][] => {
  const from = clock(rule.from) ?? 0;
  let to = clock(rule.to) ?? MINUTES_PER_DAY;
  if (to <= from) to += MINUTES_PER_DAY;
  return rule.days.map((day) => {
    const start = WEEKDAYS.indexOf(day) * MINUTES_PER_DAY + from;
    return [start, start + (to - from)];
  });
};

const minuteOfWeek = (t: LocalTime): number => WEEKDAYS.indexOf(t.weekday) * MINUTES_PER_DAY + t.hour * 60 + t.minute;

/** True when `at` falls inside one of the windows (local days and hours of the windows' time zone). */
export const isInsideWindows = (windows: Windows, at: Date): boolean => {
  const m = minuteOfWeek(localTime(at, windows.timeZone));
  return windows.open.some((rule) =>
    rangesOf(rule).some(
      ([start, end]) => (m >= start && m < end) || (m + MINUTES_PER_WEEK >= start && m + MINUTES_PER_WEEK < end),
    ),
  );
};

/**
 * When the next window opens after `at` (undefined when `at` is inside one, or no window ever opens): each rule's
 * start on each of the coming eight local days, read in the time zone, the earliest that is later and open.
 */
export const nextOpening = (windows: Windows, at: Date): Date | undefined => {
  if (isInsideWindows(windows, at)) return undefined;
  const today = localTime(at, windows.timeZone);
  let best: Date | undefined;
  for (let offset = 0; offset <= 8; offset += 1) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + offset));
    const weekday = WEEKDAYS[(date.getUTCDay() + 6) % 7] as Weekday;
    for (const rule of windows.open) {
      if (!rule.days.includes(weekday)) continue;
      const from = clock(rule.from) ?? 0;
      const candidate = zonedInstant(
        {
          year: date.getUTCFullYear(),
          month: date.getUTCMonth() + 1,
          day: date.getUTCDate(),
          hour: Math.floor(from / 60),
          minute: from % 60,
        },
        windows.timeZone,
      );
      if (candidate.getTime() <= at.getTime()) continue;
      // A start skipped by a spring-forward lands a little later; take the first minute that is open.
      const opens = isInsideWindows(windows, candidate) ? candidate : new Date(candidate.getTime() + 60 * 60_000);
      if (!isInsideWindows(windows, opens)) continue;
      if (!best || opens.getTime() < best.getTime()) best = opens;
    }
    if (best) return best;
  }
  return best;
};

/** The freeze in force at `at`, if any (a freeze with an end expires by itself then). */
export const activeFreeze = (freeze: Freeze | undefined, at: Date): Freeze | undefined =>
  freeze && freeze.at.getTime() <= at.getTime() && (!freeze.until || freeze.until.getTime() > at.getTime())
    ? freeze
    : undefined;

const pad = (n: number): string => String(n).padStart(2, '0');
const DAY_NAMES: Record<Weekday, string> = {
  mon: 'Mon',
  tue: 'Tue',
  wed: 'Wed',
  thu: 'Thu',
  fri: 'Fri',
  sat: 'Sat',
  sun: 'Sun',
};

/** "Mon 2026-12-07 09:00 Europe/Berlin": a moment as people of that time zone read it. */
export const formatLocal = (at: Date, timeZone: string): string => {
  const t = localTime(at, timeZone);
  return `${DAY_NAMES[t.weekday]} ${t.year}-${pad(t.month)}-${pad(t.day)} ${pad(t.hour)}:${pad(t.minute)} ${timeZone}`;
};

/** "mon–fri 09:00–17:00, sat 10:00–12:00 (Europe/Berlin)". */
export const describeWindows = (windows: Windows): string =>
  `${windows.open.map((r) => `${describeDays(r.days)} ${r.from}–${r.to}`).join(', ')} (${windows.timeZone})`;

const describeDays = (days: readonly Weekday[]): string => {
  const sorted = WEEKDAYS.filter((d) => days.includes(d));
  const first = sorted[0];
  const last = sorted.at(-1);
  const contiguous =
    first !== undefined && last !== undefined && WEEKDAYS.indexOf(last) - WEEKDAYS.indexOf(first) === sorted.length - 1;
  return contiguous && sorted.length > 2 ? `${first}–${last}` : sorted.join(', ');
};

/** What the policy of an environment says about changes (dockhand.yml). */
export interface ChangePolicy {
  environment: string;
  windows?: Windows | undefined;
  /** Rollbacks go ahead during a freeze and outside the windows (default true): a rollback is the way back. */
  rollbackDuringFreeze: boolean;
}

/**
 * May an operation of `kind` change the environment at `at`? No during a freeze (until it ends) and outside the
 * windows (until the next opens), except a rollback when the policy allows it. A refusal says why and until when.
 * (When /promote exists, it is gated like a deploy to its target environment: pass kind 'deploy'.)
 */
export const changeGate = (policy: ChangePolicy, kind: GatedKind, freeze: Freeze | undefined, at: Date): Gate => {
  if (kind === 'rollback' && policy.rollbackDuringFreeze) return { open: true };
  const zone = policy.windows?.timeZone ?? 'UTC';
  const active = activeFreeze(freeze, at);
  if (active) return { open: false, cause: 'freeze', environment: policy.environment, freeze: active, timeZone: zone };
  if (policy.windows && !isInsideWindows(policy.windows, at)) {
    return {
      open: false,
      cause: 'window',
      environment: policy.environment,
      windows: policy.windows,
      opensAt: nextOpening(policy.windows, at),
      timeZone: zone,
    };
  }
  return { open: true };
};

/**
 * `until <time>` of /dockhand freeze: "2026-12-24", "2026-12-24T18:00" or "2026-12-24 18:00" in `timeZone`, an
 * ISO time with its offset ("2026-12-24T18:00Z", "…+01:00"), or "18:00" (its next occurrence). Undefined when the
 * text is none of those.
 */
export const parseUntil = (text: string, timeZone: string, now: Date): Date | undefined => {
  const withOffset = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2})?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  if (withOffset) {
    const at = new Date(`${withOffset[1]}T${withOffset[2]}:00${withOffset[3]?.toUpperCase()}`);
    return Number.isNaN(at.getTime()) ? undefined : at;
  }
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}:\d{2}))?$/.exec(text);
  if (local) {
    const [year, month, day] = [Number(local[1]), Number(local[2]), Number(local[3])];
    const minutes = local[4] === undefined ? 0 : clock(local[4]);
    const probe = new Date(Date.UTC(year, month - 1, day));
    if (minutes === undefined || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return undefined;
    return zonedInstant({ year, month, day, hour: Math.floor(minutes / 60), minute: minutes % 60 }, timeZone);
  }
  const minutes = /^\d{2}:\d{2}$/.test(text) ? clock(text) : undefined;
  if (minutes === undefined || minutes === MINUTES_PER_DAY) return undefined;
  const today = localTime(now, timeZone);
  for (let offset = 0; offset <= 1; offset += 1) {
    const date = new Date(Date.UTC(today.year, today.month - 1, today.day + offset));
    const at = zonedInstant(
      {
        year: date.getUTCFullYear(),
        month: date.getUTCMonth() + 1,
        day: date.getUTCDate(),
        hour: Math.floor(minutes / 60),
        minute: minutes % 60,
      },
      timeZone,
    );
    if (at.getTime() > now.getTime()) return at;
  }
  return undefined;
};
