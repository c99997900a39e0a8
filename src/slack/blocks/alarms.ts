/**
 * ECS deployment alarms on the deployment card: which CloudWatch alarms judge the rollout and how they stand (the plan
 * and approval card, the rollout card), and, when one of them failed the rollout, which one and what ECS does about it.
 * Absent (no blocks) for a service without deployment alarms.
 */
import type { DeploymentAlarm, DeploymentAlarms } from '../../ports.ts';
import { code, LIMITS, lines, safe, truncate } from '../mrkdwn.ts';
import type { KnownBlock } from './types.ts';

const section = (text: string): KnownBlock => ({
  type: 'section',
  text: { type: 'mrkdwn', text: truncate(text, LIMITS.sectionText) },
});

const STATE: Record<NonNullable<DeploymentAlarm['state']>, string> = {
  OK: ':large_green_circle: OK',
  ALARM: ':red_circle: *ALARM*',
  INSUFFICIENT_DATA: ':white_circle: insufficient data',
};

/** CloudWatch's reason, without backticks (they would end the code spans around it). */
const reasonText = (reason: string): string => safe(reason.replace(/[\r\n]+/g, ' '), 300).replace(/`/g, "'");

const alarmLine = (a: DeploymentAlarm, known: boolean): string => {
  const state = a.state
    ? STATE[a.state]
    : known
      ? ':grey_question: not found in CloudWatch'
      : ':grey_question: unknown';
  const why = a.state === 'ALARM' && a.reason ? ` — ${reasonText(a.reason)}` : '';
  return `• ${code(a.name)} ${state}${why}`;
};

const heading = (alarms: DeploymentAlarms): string =>
  alarms.rollback
    ? '*Deployment alarms* (ECS rolls the service back if one goes into ALARM)'
    : '*Deployment alarms* (ECS fails the rollout if one goes into ALARM; automatic rollback is off)';

/** The alarms and their states, as one section; none when there are no alarms. */
export const alarmsBlocks = (alarms: DeploymentAlarms | undefined): KnownBlock[] => {
  if (!alarms || alarms.alarms.length === 0) return [];
  const known = alarms.unreadable === undefined;
  const items = alarms.alarms.map((a) => alarmLine(a, known));
  if (!known) items.push(`_States unavailable: ${reasonText(alarms.unreadable ?? '')}_`);
  const head = heading(alarms);
  return [section(`${head}\n${lines(items, LIMITS.sectionText - head.length - 1)}`)];
};

/** A rollout an alarm failed: names the alarm(s) and says whether ECS rolls back. None otherwise. */
export const alarmFailureBlocks = (alarms: DeploymentAlarms | undefined): KnownBlock[] => {
  const triggered = alarms?.triggered ?? [];
  if (!alarms || triggered.length === 0) return [];
  const names = triggered.map(code).join(', ');
  const went = triggered.length === 1 ? `Alarm ${names} went` : `Alarms ${names} went`;
  const then = alarms.rollback
    ? 'ECS failed the rollout and rolls the service back to the previous revision.'
    : 'ECS failed the rollout; automatic rollback is off, so the service keeps what runs now.';
  return [section(`:rotating_light: *${went} into ALARM* — ${then}`)];
};
