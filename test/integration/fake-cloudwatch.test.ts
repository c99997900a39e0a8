/**
 * The fake CloudWatch over its real wire protocol (AWS JSON 1.0 with awsQuery-compatible errors), through the real
 * SDK client and raw HTTP.
 */
import {
  CloudWatchClient,
  DescribeAlarmsCommand,
  type DescribeAlarmsCommandOutput,
  SetAlarmStateCommand,
} from '@aws-sdk/client-cloudwatch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeAws } from '../support/fake-aws/index.ts';

const credentials = { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret' };

let fake: FakeAws;

beforeEach(async () => {
  fake = new FakeAws({ autoStep: 'manual' });
  await fake.start();
  fake.putAlarm('api-5xx');
  fake.putAlarm('api-latency', { state: 'INSUFFICIENT_DATA', reason: 'Insufficient Data: 1 datapoint was unknown.' });
});

afterEach(async () => {
  await fake.stop();
});

const cloudWatch = () => new CloudWatchClient({ endpoint: fake.url, region: 'us-east-1', credentials, maxAttempts: 1 });

describe('fake CloudWatch: the JSON 1.0 wire protocol', () => {
  it('answers DescribeAlarms in application/x-amz-json-1.0 with PascalCase members and epoch-second timestamps', async () => {
    const res = await fetch(fake.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'GraniteServiceVersion20100801.DescribeAlarms',
      },
      body: JSON.stringify({ AlarmNames: ['api-latency'] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    const body = (await res.json()) as { MetricAlarms: Array<Record<string, unknown>> };
    expect(body.MetricAlarms).toHaveLength(1);
    expect(body.MetricAlarms[0]).toMatchObject({ AlarmName: 'api-latency', StateValue: 'INSUFFICIENT_DATA' });
    expect(typeof body.MetricAlarms[0]?.StateUpdatedTimestamp).toBe('number');
  });

  it('refuses a JSON 1.1 body, as a JSON 1.0 service does', async () => {
    const res = await fetch(fake.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'GraniteServiceVersion20100801.DescribeAlarms',
      },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-amzn-query-error')).toBe('UnknownOperationException;Sender');
  });

  it('the SDK reads states, pages by MaxRecords, and throws the awsQuery error codes', async () => {
    const cw = cloudWatch();
    try {
      const first = await cw.send(new DescribeAlarmsCommand({ MaxRecords: 1 }));
      expect(first.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['api-5xx']);
      expect(first.MetricAlarms?.[0]?.StateValue).toBe('OK');
      expect(first.MetricAlarms?.[0]?.StateUpdatedTimestamp).toBeInstanceOf(Date);
      const second = await cw.send(new DescribeAlarmsCommand({ MaxRecords: 1, NextToken: first.NextToken }));
      expect(second.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['api-latency']);
      expect(second.NextToken).toBeUndefined();

      await expect(cw.send(new DescribeAlarmsCommand({ NextToken: 'bogus' }))).rejects.toMatchObject({
        name: 'InvalidNextToken',
      });
      const tooMany = Array.from({ length: 101 }, (_, i) => `a${i}`);
      await expect(cw.send(new DescribeAlarmsCommand({ AlarmNames: tooMany }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 400 },
      });
      await expect(
        cw.send(new SetAlarmStateCommand({ AlarmName: 'nope', StateValue: 'ALARM', StateReason: 'x' })),
      ).rejects.toMatchObject({ name: 'ResourceNotFound', $metadata: { httpStatusCode: 404 } });

      fake.faults({ failNext: { op: 'CloudWatch.DescribeAlarms' } });
      await expect(cw.send(new DescribeAlarmsCommand({}))).rejects.toMatchObject({
        name: 'Throttling',
        $metadata: { httpStatusCode: 400 },
      });
      expect(fake.requestsFor('CloudWatch.DescribeAlarms').at(-1)?.injected).toBe(true);
    } finally {
      cw.destroy();
    }
  });

  it('answers metric alarms only unless AlarmTypes asks for composite ones too', async () => {
    fake.putAlarm('api-composite', { type: 'CompositeAlarm', state: 'ALARM' });
    const cw = cloudWatch();
    try {
      const metricOnly: DescribeAlarmsCommandOutput = await cw.send(
        new DescribeAlarmsCommand({ AlarmNames: ['api-composite', 'api-5xx'] }),
      );
      expect(metricOnly.MetricAlarms?.map((a) => a.AlarmName)).toEqual(['api-5xx']);
      expect(metricOnly.CompositeAlarms ?? []).toEqual([]);
      const both = await cw.send(
        new DescribeAlarmsCommand({
          AlarmNames: ['api-composite', 'api-5xx'],
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        }),
      );
      expect(both.CompositeAlarms?.map((a) => [a.AlarmName, a.StateValue])).toEqual([['api-composite', 'ALARM']]);
    } finally {
      cw.destroy();
    }
  });

  it('SetAlarmState changes what DescribeAlarms answers', async () => {
    const cw = cloudWatch();
    try {
      await cw.send(new SetAlarmStateCommand({ AlarmName: 'api-5xx', StateValue: 'ALARM', StateReason: 'testing' }));
      const out = await cw.send(new DescribeAlarmsCommand({ AlarmNames: ['api-5xx'] }));
      expect(out.MetricAlarms?.[0]).toMatchObject({ StateValue: 'ALARM', StateReason: 'testing' });
    } finally {
      cw.destroy();
    }
  });
});
