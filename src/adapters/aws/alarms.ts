/**
 * ECS deployment alarms (`deploymentConfiguration.alarms`): which CloudWatch alarms judge a service's rollouts, their
 * states (DescribeAlarms), and which of them failed a rollout.
 *
 * Calls: none for a service without enabled alarms. Otherwise one DescribeAlarms per 100 alarm names (ECS allows far
 * fewer, so one) per plan and per rollout progress poll. A failed read never fails the plan or the poll: the card
 * names the alarms and says their states could not be read (the AWS error code and the hint; the whole error is
 * reported to the caller's `onUnreadable`, for the log).
 */
import type { CloudWatchClient, DescribeAlarmsCommandOutput } from '@aws-sdk/client-cloudwatch';
import type { Service } from '@aws-sdk/client-ecs';
import { AwsError, reasonForChannel } from '../../errors.ts';
import type { DeploymentAlarm, DeploymentAlarms, DeploymentSnapshot } from '../../ports.ts';
import { cloudWatchSdk } from './sdk.ts';

/** DescribeAlarms takes at most 100 AlarmNames (and answers at most 100 records a page). */
export const ALARM_NAMES_PER_CALL = 100;

/** The alarms ECS watches during a rollout of `service`; undefined when it watches none (absent or disabled). */
export const alarmConfigOf = (service: Service): { names: string[]; rollback: boolean } | undefined => {
  const alarms = service.deploymentConfiguration?.alarms;
  if (!alarms?.enable) return undefined;
  const names = [...new Set((alarms.alarmNames ?? []).filter((n) => n.trim() !== ''))];
  return names.length === 0 ? undefined : { names, rollback: alarms.rollback === true };
};

const STATES = new Set(['OK', 'ALARM', 'INSUFFICIENT_DATA']);
const stateOf = (value: string | undefined): DeploymentAlarm['state'] =>
  value !== undefined && STATES.has(value) ? (value as DeploymentAlarm['state']) : undefined;

/**
 * The states of the service's deployment alarms, in the order ECS lists them; undefined when it has none (no call).
 * Metric and composite alarms are both asked for (DescribeAlarms answers metric alarms only unless told).
 */
export const readDeploymentAlarms = async (
  cloudWatch: () => CloudWatchClient,
  service: Service,
  onUnreadable: (error: AwsError) => void = () => {},
): Promise<DeploymentAlarms | undefined> => {
  const config = alarmConfigOf(service);
  if (!config) return undefined;
  const found = new Map<string, DeploymentAlarm>();
  try {
    for (let i = 0; i < config.names.length; i += ALARM_NAMES_PER_CALL) {
      const batch = config.names.slice(i, i + ALARM_NAMES_PER_CALL);
      const out: DescribeAlarmsCommandOutput = await cloudWatch().send(
        new (cloudWatchSdk().DescribeAlarmsCommand)({
          AlarmNames: batch,
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
          MaxRecords: ALARM_NAMES_PER_CALL,
        }),
      );
      for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
        if (!a.AlarmName) continue;
        found.set(a.AlarmName, {
          name: a.AlarmName,
          state: stateOf(a.StateValue),
          reason: a.StateReason || undefined,
          since: a.StateUpdatedTimestamp,
        });
      }
    }
  } catch (error) {
    const failed = new AwsError('read the CloudWatch alarms', error);
    onUnreadable(failed);
    return {
      alarms: config.names.map((name) => ({ name })),
      rollback: config.rollback,
      // On cards in the channel: the error code and what to do. AWS's message names the account and the role
      // (`User: arn:aws:sts::<account>:assumed-role/…`): it goes to `onUnreadable` (the log) only.
      unreadable: reasonForChannel(failed),
    };
  }
  return { alarms: config.names.map((name) => found.get(name) ?? { name }), rollback: config.rollback };
};

/**
 * `report`, called only when the failure differs from the last one reported: a rollout polled every few seconds
 * without the permission logs it once, not once a poll.
 */
export const onChangeOnly = (report: (error: AwsError) => void): ((error: AwsError) => void) => {
  let last: string | undefined;
  return (error) => {
    if (error.message === last) return;
    last = error.message;
    report(error);
  };
};

const mentions = (text: string, name: string): boolean => {
  const at = text.indexOf(name);
  if (at < 0) return false;
  // A whole name: "api-5xx" is not named by "api-5xx-high".
  const after = text[at + name.length];
  return after === undefined || !/[\w-]/.test(after);
};

/**
 * The alarms that failed a rollout, when it failed because of them: the alarms ECS names in the deployment's
 * rolloutStateReason or in the failure events; else, when those speak of an alarm, the alarms in ALARM since the
 * deployment began. Empty when the rollout failed for another reason (tasks that did not start).
 */
export const triggeredAlarms = (
  alarms: DeploymentAlarms,
  deployment: DeploymentSnapshot | undefined,
  texts: readonly string[],
): string[] => {
  const said = [deployment?.rolloutStateReason ?? '', ...texts].filter((t) => t !== '');
  const named = alarms.alarms.filter((a) => said.some((t) => mentions(t, a.name))).map((a) => a.name);
  if (named.length > 0) return named;
  if (!said.some((t) => /\balarms?\b/i.test(t))) return [];
  const since = deployment?.createdAt;
  return alarms.alarms
    .filter((a) => a.state === 'ALARM' && (since === undefined || a.since === undefined || a.since >= since))
    .map((a) => a.name);
};
