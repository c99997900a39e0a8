import { AwsError } from './errors.ts';
import type { FakeAws } from './fake-aws.ts';
import { optBool, optInt, optString, optStringArray, paginate } from './input.ts';
import type { JsonObject, LogEventState, LogGroupState } from './model.ts';

type Handler = (fake: FakeAws, input: JsonObject) => unknown;

function logGroup(fake: FakeAws, input: JsonObject): LogGroupState {
  const name = optString(input, 'logGroupName');
  const identifier = optString(input, 'logGroupIdentifier');
  if (name !== undefined && identifier !== undefined) {
    throw new AwsError(
      'InvalidParameterException',
      'LogGroup name and LogGroup ARN are mutually exclusive parameters.',
    );
  }
  const ref = name ?? identifier;
  if (!ref) throw new AwsError('InvalidParameterException', 'Either logGroupName or logGroupIdentifier is required.');
  const groupName = ref.startsWith('arn:')
    ? ref.replace(/^arn:[^:]*:logs:[^:]*:[^:]*:log-group:/, '').replace(/:\*$/, '')
    : ref;
  const g = fake.logGroups.get(groupName);
  if (!g) throw new AwsError('ResourceNotFoundException', 'The specified log group does not exist.');
  return g;
}

/**
 * A subset of the CloudWatch Logs filter pattern syntax: whitespace-separated terms that must all occur
 * (case-sensitive substring), `"quoted phrases"`, `-term` to exclude, and `?term` alternatives (at least one
 * `?` term must occur). JSON (`{ $.x = ... }`) and space-delimited (`[a, b]`) patterns are rejected.
 */
export function compileFilterPattern(pattern: string | undefined): (message: string) => boolean {
  if (pattern === undefined || pattern.trim() === '') return () => true;
  const p = pattern.trim();
  if (p.startsWith('{') || p.startsWith('[')) {
    throw new AwsError('InvalidParameterException', 'The fake only supports term and phrase filter patterns.');
  }
  const must: string[] = [];
  const not: string[] = [];
  const any: string[] = [];
  for (const m of p.matchAll(/([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)) {
    const term = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
    if (m[1] === '-') not.push(term);
    else if (m[1] === '?') any.push(term);
    else must.push(term);
  }
  return (message) =>
    must.every((t) => message.includes(t)) &&
    !not.some((t) => message.includes(t)) &&
    (any.length === 0 || any.some((t) => message.includes(t)));
}

function filterLogEvents(fake: FakeAws, input: JsonObject) {
  const g = logGroup(fake, input);
  const names = optStringArray(input, 'logStreamNames');
  const prefix = optString(input, 'logStreamNamePrefix');
  if (names !== undefined && prefix !== undefined) {
    throw new AwsError('InvalidParameterException', 'logStreamNames and logStreamNamePrefix are mutually exclusive.');
  }
  const startTime = optInt(input, 'startTime', 0, Number.MAX_SAFE_INTEGER);
  const endTime = optInt(input, 'endTime', 0, Number.MAX_SAFE_INTEGER);
  const limit = optInt(input, 'limit', 1, 10_000) ?? 10_000;
  const match = compileFilterPattern(optString(input, 'filterPattern'));
  const streams = [...g.streams.values()].filter(
    (s) => (names === undefined || names.includes(s.name)) && (prefix === undefined || s.name.startsWith(prefix)),
  );
  const events: Array<LogEventState & { logStreamName: string }> = [];
  for (const s of streams) {
    for (const e of s.events) {
      if (startTime !== undefined && e.timestamp < startTime) continue;
      if (endTime !== undefined && e.timestamp > endTime) continue;
      if (!match(e.message)) continue;
      events.push({ ...e, logStreamName: s.name });
    }
  }
  events.sort((a, b) => a.timestamp - b.timestamp || a.eventId.localeCompare(b.eventId));
  const scope = `FilterLogEvents/${g.name}`;
  const { page, nextToken } = paginate(events, optString(input, 'nextToken'), limit, scope);
  return {
    events: page.map((e) => ({
      logStreamName: e.logStreamName,
      timestamp: e.timestamp,
      message: e.message,
      ingestionTime: e.ingestionTime,
      eventId: e.eventId,
    })),
    searchedLogStreams: streams.map((s) => ({ logStreamName: s.name, searchedCompletely: nextToken === undefined })),
    nextToken,
  };
}

function describeLogStreams(fake: FakeAws, input: JsonObject) {
  const g = logGroup(fake, input);
  const prefix = optString(input, 'logStreamNamePrefix');
  const orderBy = optString(input, 'orderBy') ?? 'LogStreamName';
  if (orderBy !== 'LogStreamName' && orderBy !== 'LastEventTime') {
    throw new AwsError('InvalidParameterException', 'orderBy must be LogStreamName or LastEventTime.');
  }
  if (orderBy === 'LastEventTime' && prefix !== undefined) {
    throw new AwsError('InvalidParameterException', 'Cannot order by LastEventTime with a logStreamNamePrefix.');
  }
  const descending = optBool(input, 'descending') ?? false;
  const limit = optInt(input, 'limit', 1, 50) ?? 50;
  const streams = [...g.streams.values()].filter((s) => prefix === undefined || s.name.startsWith(prefix));
  const last = (s: { events: LogEventState[]; createdAt: number }) => s.events.at(-1)?.timestamp ?? s.createdAt;
  streams.sort((a, b) => (orderBy === 'LogStreamName' ? a.name.localeCompare(b.name) : last(a) - last(b)));
  if (descending) streams.reverse();
  const scope = `DescribeLogStreams/${g.name}/${orderBy}/${descending}`;
  const { page, nextToken } = paginate(streams, optString(input, 'nextToken'), limit, scope);
  return {
    logStreams: page.map((s) => ({
      logStreamName: s.name,
      creationTime: s.createdAt,
      ...(s.events.length
        ? {
            firstEventTimestamp: s.events[0]?.timestamp,
            lastEventTimestamp: s.events.at(-1)?.timestamp,
            lastIngestionTime: Math.max(...s.events.map((e) => e.ingestionTime)),
          }
        : {}),
      arn: `${g.arn}:log-stream:${s.name}`,
      storedBytes: 0,
    })),
    nextToken,
  };
}

export const logsHandlers: Record<string, Handler> = {
  FilterLogEvents: filterLogEvents,
  DescribeLogStreams: describeLogStreams,
};
