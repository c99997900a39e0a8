/**
 * CloudWatch alarms, over the protocol the installed SDK speaks: AWS JSON 1.0 with awsQuery compatibility
 * (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`, `application/x-amz-json-1.0`, PascalCase members, errors as
 * `{"__type": "com.amazonaws.cloudwatch#<Code>", "message"}` plus `x-amzn-query-error: <Code>;Sender`; see server.ts).
 * DescribeAlarms and SetAlarmState; the fake never evaluates metrics: alarms change state when a test says so.
 */
import { AwsError } from './errors.ts';
import type { FakeAws } from './fake-aws.ts';
import type { AlarmState, JsonObject } from './model.ts';

type Handler = (fake: FakeAws, input: JsonObject) => unknown;

const INVALID = 'InvalidParameterValue';
const ALARM_TYPES = ['MetricAlarm', 'CompositeAlarm'] as const;
const STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const;

const optString = (input: JsonObject, key: string): string | undefined => {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AwsError(INVALID, `${key} must be a string.`);
  return v;
};

const optStrings = (input: JsonObject, key: string): string[] | undefined => {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new AwsError(INVALID, `${key} must be a list of strings.`);
  }
  return v as string[];
};

const validation = (message: string) => new AwsError('ValidationError', `1 validation error detected: ${message}`);

function serializeAlarm(a: AlarmState): JsonObject {
  const common = {
    AlarmName: a.name,
    AlarmArn: a.arn,
    ActionsEnabled: true,
    OKActions: [],
    AlarmActions: [],
    InsufficientDataActions: [],
    StateValue: a.state,
    StateReason: a.reason,
    ...(a.reasonData === undefined ? {} : { StateReasonData: a.reasonData }),
    StateUpdatedTimestamp: a.updatedAt,
    StateTransitionedTimestamp: a.updatedAt,
  } as unknown as JsonObject;
  if (a.type === 'CompositeAlarm') return { ...common, AlarmRule: 'FALSE' };
  return {
    ...common,
    MetricName: a.metricName ?? 'HTTPCode_Target_5XX_Count',
    Namespace: a.namespace ?? 'AWS/ApplicationELB',
    Statistic: 'Sum',
    Dimensions: [],
    Period: 60,
    EvaluationPeriods: 1,
    Threshold: a.threshold ?? 5,
    ComparisonOperator: 'GreaterThanThreshold',
  };
}

function describeAlarms(fake: FakeAws, input: JsonObject) {
  const names = optStrings(input, 'AlarmNames');
  const prefix = optString(input, 'AlarmNamePrefix');
  if (names !== undefined && names.length > 100) {
    throw validation(
      "Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to 100",
    );
  }
  if (names?.some((n) => n.length < 1 || n.length > 255)) {
    throw validation("Value at 'alarmNames' failed to satisfy constraint: Member must have length between 1 and 255");
  }
  if (names !== undefined && prefix !== undefined) {
    throw new AwsError('InvalidParameterCombination', 'AlarmNames and AlarmNamePrefix cannot be used together.');
  }
  const types = optStrings(input, 'AlarmTypes') ?? ['MetricAlarm'];
  for (const t of types) {
    if (!(ALARM_TYPES as readonly string[]).includes(t)) {
      throw validation(`Value '${t}' at 'alarmTypes' failed to satisfy constraint: Member must satisfy enum value set`);
    }
  }
  const stateValue = optString(input, 'StateValue');
  if (stateValue !== undefined && !(STATES as readonly string[]).includes(stateValue)) {
    throw validation(`Value '${stateValue}' at 'stateValue' failed to satisfy constraint`);
  }
  const maxRecords = input.MaxRecords ?? 50;
  if (typeof maxRecords !== 'number' || !Number.isInteger(maxRecords) || maxRecords < 1 || maxRecords > 100) {
    throw validation("Value at 'maxRecords' failed to satisfy constraint: Member must be between 1 and 100");
  }
  const scope = JSON.stringify([names, prefix, types, stateValue]);
  const token = optString(input, 'NextToken');
  let start = 0;
  if (token !== undefined) {
    const m = /^fake:(\d+):(.*)$/s.exec(Buffer.from(token, 'base64url').toString('utf8'));
    if (!m || m[2] !== scope) throw new AwsError('InvalidNextToken', 'The service returned an invalid next token.');
    start = Number(m[1]);
  }
  // CloudWatch answers in name order, whatever order the names were asked in; unknown names are left out.
  const matching = [...fake.alarms.values()]
    .filter((a) => names === undefined || names.includes(a.name))
    .filter((a) => prefix === undefined || a.name.startsWith(prefix))
    .filter((a) => stateValue === undefined || a.state === stateValue)
    .filter((a) => types.includes(a.type))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const page = matching.slice(start, start + maxRecords);
  const end = start + page.length;
  return {
    MetricAlarms: page.filter((a) => a.type === 'MetricAlarm').map(serializeAlarm),
    CompositeAlarms: page.filter((a) => a.type === 'CompositeAlarm').map(serializeAlarm),
    ...(end < matching.length ? { NextToken: Buffer.from(`fake:${end}:${scope}`).toString('base64url') } : {}),
  };
}

function setAlarmState(fake: FakeAws, input: JsonObject) {
  const name = optString(input, 'AlarmName');
  const state = optString(input, 'StateValue');
  const reason = optString(input, 'StateReason');
  if (!name) throw validation("Value null at 'alarmName' failed to satisfy constraint: Member must not be null");
  if (!state || !(STATES as readonly string[]).includes(state)) {
    throw validation(`Value '${state}' at 'stateValue' failed to satisfy constraint`);
  }
  if (reason === undefined) throw validation("Value null at 'stateReason' failed to satisfy constraint");
  const reasonData = optString(input, 'StateReasonData');
  if (reasonData !== undefined) {
    try {
      JSON.parse(reasonData);
    } catch {
      throw new AwsError('InvalidFormat', 'StateReasonData is not valid JSON.');
    }
  }
  fake.setAlarmState(name, state as AlarmState['state'], reason, reasonData);
  return {};
}

export const cloudWatchHandlers: Record<string, Handler> = {
  DescribeAlarms: describeAlarms,
  SetAlarmState: setAlarmState,
};
