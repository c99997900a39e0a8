/** The fake Route 53 as the real SDK client sees it: REST-XML requests, answers and errors. */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAwsClients } from '../../src/adapters/aws/clients.ts';
import { Route53Records } from '../../src/adapters/aws/route53.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

let fake: FakeAws;
let client: Route53Client;
const credentials = { accessKeyId: 'AKIAFAKEFAKEFAKEFAKE', secretAccessKey: 'fake-secret' };

beforeAll(async () => {
  fake = new FakeAws();
  await fake.start();
  client = new Route53Client({ endpoint: fake.url, region: 'us-east-1', credentials, maxAttempts: 1 });
});
afterAll(async () => {
  client.destroy();
  await fake.stop();
});

const upsert = (zone: string, name: string, values: string[], action: 'UPSERT' | 'CREATE' = 'UPSERT') =>
  client.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zone,
      ChangeBatch: {
        Changes: [
          {
            Action: action,
            ResourceRecordSet: { Name: name, Type: 'A', TTL: 60, ResourceRecords: values.map((Value) => ({ Value })) },
          },
        ],
      },
    }),
  );

describe('fake Route 53', () => {
  it('applies an UPSERT, lists record sets in Route 53 order with paging, and answers GetChange', async () => {
    const zone = fake.putHostedZone('example.com');
    const out = await upsert(`/hostedzone/${zone}`, 'api.example.com', ['203.0.113.1', '203.0.113.2']);
    expect(out.ChangeInfo?.Id).toMatch(/^\/change\/C/);
    await upsert(zone, 'www.example.com', ['203.0.113.9']);

    const first = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone, MaxItems: 2 }));
    expect(first.ResourceRecordSets?.map((r) => `${r.Name} ${r.Type}`)).toEqual([
      'example.com. NS',
      'example.com. SOA',
    ]);
    expect(first.IsTruncated).toBe(true);
    const rest = await client.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zone,
        StartRecordName: first.NextRecordName,
        StartRecordType: first.NextRecordType,
      }),
    );
    expect(rest.ResourceRecordSets?.map((r) => `${r.Name} ${r.Type}`)).toEqual([
      'api.example.com. A',
      'www.example.com. A',
    ]);
    expect(rest.ResourceRecordSets?.[0]?.ResourceRecords).toEqual([{ Value: '203.0.113.1' }, { Value: '203.0.113.2' }]);

    const change = await client.send(new GetChangeCommand({ Id: out.ChangeInfo?.Id }));
    expect(change.ChangeInfo?.Status).toBe('INSYNC');
  });

  it('answers errors as Route 53 does, and changes nothing on a refused batch', async () => {
    const zone = fake.putHostedZone('example.org');
    await expect(upsert('Z9NOSUCHZONE', 'api.example.org', ['203.0.113.1'])).rejects.toMatchObject({
      name: 'NoSuchHostedZone',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(upsert(zone, 'api.example.com', ['203.0.113.1'])).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: expect.stringContaining('is not permitted in zone example.org.'),
    });
    await expect(upsert(zone, 'api.example.org', ['not-an-ip'])).rejects.toMatchObject({ name: 'InvalidChangeBatch' });
    await upsert(zone, 'api.example.org', ['203.0.113.1'], 'CREATE');
    await expect(upsert(zone, 'api.example.org', ['203.0.113.2'], 'CREATE')).rejects.toMatchObject({
      name: 'InvalidChangeBatch',
      message: expect.stringContaining('but it already exists'),
    });
    expect(fake.dnsRecord(zone, 'api.example.org')?.values).toEqual(['203.0.113.1']);
  });

  it('serves the DnsRecords adapter: reads a record (absent, then present) and upserts it; faults are injected', async () => {
    const zone = fake.putHostedZone('example.net');
    const aws = createAwsClients({ endpoint: fake.url, region: 'us-east-1', maxAttempts: 1 });
    process.env.AWS_ACCESS_KEY_ID ??= credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY ??= credentials.secretAccessKey;
    try {
      const records = new Route53Records(aws);
      // "www" sorts after "api": the listing from api.example.net starts at www, which is not the record asked.
      await upsert(zone, 'www.example.net', ['203.0.113.9']);
      expect(await records.readA(zone, 'api.example.net')).toBeUndefined();
      await records.upsertA(zone, 'api.example.net', ['203.0.113.5'], 30, 'dockhand: test');
      expect(await records.readA(zone, 'api.example.net')).toEqual({ ips: ['203.0.113.5'], ttl: 30 });

      fake.faults({ failNext: { op: 'Route53.ChangeResourceRecordSets' } });
      await expect(records.upsertA(zone, 'api.example.net', ['203.0.113.6'], 30, 'x')).rejects.toThrow(
        /^update the DNS record api\.example\.net: Throttling: /,
      );
      expect(fake.calls['Route53.ChangeResourceRecordSets']).toBeGreaterThan(0);
    } finally {
      aws.destroy();
    }
  });
});
