/**
 * Route 53 over its REST-XML wire protocol (API version 2013-04-01): hosted zones with their record sets,
 * ChangeResourceRecordSets (CREATE, UPSERT, DELETE; all-or-nothing, validated as Route 53 does),
 * ListResourceRecordSets (Route 53's order: names by reversed labels, then type; `name`, `type`, `maxitems`,
 * IsTruncated/NextRecordName/NextRecordType) and GetChange (INSYNC at once). Errors are Route 53's
 * `<ErrorResponse><Error><Type>Sender</Type><Code>…</Code><Message>…</Message></Error>…`: NoSuchHostedZone (404),
 * InvalidChangeBatch, InvalidInput (400). Handlers return the children of `<{Op}Response>`; server.ts adds it.
 */
import { xmlEscape } from './ec2.ts';
import { AwsError } from './errors.ts';
import type { FakeAws } from './fake-aws.ts';
import type { JsonObject } from './model.ts';

export const ROUTE53_NS = 'https://route53.amazonaws.com/doc/2013-04-01/';

export interface RecordSetState {
  /** Lower case, with the final dot, as Route 53 returns it. */
  name: string;
  type: string;
  ttl?: number | undefined;
  values: string[];
  setIdentifier?: string | undefined;
}

export interface HostedZoneState {
  id: string;
  /** With the final dot. */
  name: string;
  /** By `name type setIdentifier`. */
  records: Map<string, RecordSetState>;
}

export interface ChangeState {
  id: string;
  submittedAt: Date;
  comment?: string | undefined;
}

interface ChangeInput {
  action: string;
  record: RecordSetState;
  alias: boolean;
}

type Handler = (fake: FakeAws, input: JsonObject) => string;

export const fqdn = (name: string): string => `${name.toLowerCase().replace(/\.$/, '')}.`;
const recordKey = (r: Pick<RecordSetState, 'name' | 'type' | 'setIdentifier'>): string =>
  `${r.name} ${r.type} ${r.setIdentifier ?? ''}`;
/** Route 53 lists names by their labels from the right: "api.example.com." sorts as "com.example.api". */
const sortKey = (name: string): string => name.replace(/\.$/, '').split('.').reverse().join('.');
const compareRecords = (a: RecordSetState, b: RecordSetState): number =>
  sortKey(a.name) < sortKey(b.name) ? -1 : sortKey(a.name) > sortKey(b.name) ? 1 : a.type.localeCompare(b.type);

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const unescapeXml = (s: string): string =>
  s.replace(
    /&(lt|gt|amp|apos|quot);/g,
    (_, e: string) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' })[e] ?? '',
  );

/** The text of the first `<tag>` directly in `xml`, or undefined. Enough for the request shapes Route 53 takes. */
const textOf = (xml: string, tag: string): string | undefined => {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m?.[1] === undefined ? undefined : unescapeXml(m[1]);
};
const blocksOf = (xml: string, tag: string): string[] =>
  [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1] ?? '');

/** Parses a ChangeResourceRecordSetsRequest body; malformed → InvalidInput, as Route 53 answers. */
export const parseChangeBatch = (body: string): { comment?: string | undefined; changes: ChangeInput[] } => {
  if (!body.includes('<ChangeResourceRecordSetsRequest')) {
    throw new AwsError('InvalidInput', 'Invalid XML ; expected a ChangeResourceRecordSetsRequest');
  }
  const batch = textOf(body, 'ChangeBatch') ?? '';
  const changes = blocksOf(batch, 'Change').map((change): ChangeInput => {
    const set = /<ResourceRecordSet>([\s\S]*?)<\/ResourceRecordSet>/.exec(change)?.[1] ?? '';
    const ttl = textOf(set, 'TTL');
    return {
      action: textOf(change, 'Action') ?? '',
      alias: set.includes('<AliasTarget>'),
      record: {
        name: fqdn(textOf(set, 'Name') ?? ''),
        type: textOf(set, 'Type') ?? '',
        ttl: ttl === undefined ? undefined : Number(ttl),
        values: blocksOf(set, 'ResourceRecord').map((r) => textOf(r, 'Value') ?? ''),
        setIdentifier: textOf(set, 'SetIdentifier'),
      },
    };
  });
  return { comment: textOf(batch, 'Comment'), changes };
};

const recordXml = (r: RecordSetState): string =>
  '<ResourceRecordSet>' +
  `<Name>${xmlEscape(r.name)}</Name><Type>${r.type}</Type>` +
  (r.setIdentifier === undefined ? '' : `<SetIdentifier>${xmlEscape(r.setIdentifier)}</SetIdentifier>`) +
  (r.ttl === undefined ? '' : `<TTL>${r.ttl}</TTL>`) +
  `<ResourceRecords>${r.values.map((v) => `<ResourceRecord><Value>${xmlEscape(v)}</Value></ResourceRecord>`).join('')}</ResourceRecords>` +
  '</ResourceRecordSet>';

const changeInfoXml = (c: ChangeState): string =>
  `<ChangeInfo><Id>/change/${c.id}</Id><Status>INSYNC</Status><SubmittedAt>${c.submittedAt.toISOString()}</SubmittedAt>` +
  (c.comment === undefined ? '' : `<Comment>${xmlEscape(c.comment)}</Comment>`) +
  '</ChangeInfo>';

const zoneOf = (fake: FakeAws, input: JsonObject): HostedZoneState => {
  const id = String(input.HostedZoneId ?? '').replace(/^\/?hostedzone\//, '');
  const zone = fake.hostedZones.get(id);
  if (!zone) throw new AwsError('NoSuchHostedZone', `No hosted zone found with ID: ${id}`, 404);
  return zone;
};

const invalidBatch = (message: string) => new AwsError('InvalidChangeBatch', `[${message}]`);

const changeResourceRecordSets: Handler = (fake, input) => {
  const zone = zoneOf(fake, input);
  const { comment, changes } = parseChangeBatch(String(input.body ?? ''));
  if (changes.length === 0) throw new AwsError('InvalidInput', 'Invalid request: ChangeBatch must contain a Change');
  // Validate every change against the zone as it would be after the ones before it, then apply all or nothing.
  const records = new Map(zone.records);
  for (const { action, record, alias } of changes) {
    const what = `resource record set [name='${record.name}', type='${record.type}']`;
    if (!['CREATE', 'UPSERT', 'DELETE'].includes(action))
      throw new AwsError('InvalidInput', `Invalid Action ${action}`);
    if (record.name !== zone.name && !record.name.endsWith(`.${zone.name}`)) {
      throw invalidBatch(`RRSet with DNS name ${record.name} is not permitted in zone ${zone.name}`);
    }
    if (!alias && record.ttl === undefined) throw new AwsError('InvalidInput', 'Invalid request: Missing field TTL');
    if (!alias && record.values.length === 0) {
      throw new AwsError(
        'InvalidInput',
        'Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=' +
          action +
          ', Name=' +
          record.name +
          ', Type=' +
          record.type +
          ', SetIdentifier=null]',
      );
    }
    if (record.type === 'A') {
      const bad = record.values.find((v) => !IPV4.test(v));
      if (bad !== undefined) {
        throw invalidBatch(
          `Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '${bad}''`,
        );
      }
    }
    const key = recordKey(record);
    const existing = records.get(key);
    if (action === 'CREATE' && existing) throw invalidBatch(`Tried to create ${what} but it already exists`);
    if (action === 'DELETE') {
      if (!existing) throw invalidBatch(`Tried to delete ${what} but it was not found`);
      if (existing.ttl !== record.ttl || existing.values.join() !== record.values.join()) {
        throw invalidBatch(`Tried to delete ${what} but the values provided do not match the current values`);
      }
      records.delete(key);
    } else records.set(key, { ...record, values: [...record.values] });
  }
  zone.records.clear();
  for (const [k, v] of records) zone.records.set(k, v);
  const change = fake.recordChange(comment);
  return changeInfoXml(change);
};

const listResourceRecordSets: Handler = (fake, input) => {
  const zone = zoneOf(fake, input);
  const name = typeof input.name === 'string' ? fqdn(input.name) : undefined;
  const type = typeof input.type === 'string' ? input.type : undefined;
  if (type !== undefined && name === undefined) {
    throw new AwsError('InvalidInput', 'The input is not valid: a type is given without a name');
  }
  const maxItems = Math.min(Number(input.maxitems ?? 300) || 300, 300);
  const sorted = [...zone.records.values()].sort(compareRecords);
  const from = sorted.findIndex(
    (r) =>
      name === undefined ||
      sortKey(r.name) > sortKey(name) ||
      (sortKey(r.name) === sortKey(name) && (type === undefined || r.type >= type)),
  );
  const rest = from < 0 ? [] : sorted.slice(from);
  const page = rest.slice(0, maxItems);
  const next = rest[maxItems];
  return (
    `<ResourceRecordSets>${page.map(recordXml).join('')}</ResourceRecordSets>` +
    `<IsTruncated>${next !== undefined}</IsTruncated>` +
    (next === undefined
      ? ''
      : `<NextRecordName>${xmlEscape(next.name)}</NextRecordName><NextRecordType>${next.type}</NextRecordType>`) +
    `<MaxItems>${maxItems}</MaxItems>`
  );
};

const getChange: Handler = (fake, input) => {
  const id = String(input.Id ?? '').replace(/^\/?change\//, '');
  const change = fake.changes.get(id);
  if (!change) throw new AwsError('NoSuchChange', `A change with the specified change ID does not exist: ${id}`, 404);
  return changeInfoXml(change);
};

export const route53Handlers: Record<string, Handler> = {
  ChangeResourceRecordSets: changeResourceRecordSets,
  ListResourceRecordSets: listResourceRecordSets,
  GetChange: getChange,
};

/** The REST route of a Route 53 request: operation and its input (path and query), or undefined. */
export const route53Route = (method: string, url: URL, body: string): { op: string; input: JsonObject } | undefined => {
  const path = url.pathname.replace(/\/$/, '');
  const rrset = /^\/2013-04-01\/hostedzone\/([^/]+)\/rrset$/.exec(path);
  if (rrset) {
    const HostedZoneId = decodeURIComponent(rrset[1] ?? '');
    if (method === 'POST') return { op: 'ChangeResourceRecordSets', input: { HostedZoneId, body } };
    if (method === 'GET') {
      const q = url.searchParams;
      const input: JsonObject = { HostedZoneId };
      for (const key of ['name', 'type', 'identifier', 'maxitems']) if (q.has(key)) input[key] = q.get(key);
      return { op: 'ListResourceRecordSets', input };
    }
  }
  const change = /^\/2013-04-01\/change\/([^/]+)$/.exec(path);
  if (change && method === 'GET') return { op: 'GetChange', input: { Id: decodeURIComponent(change[1] ?? '') } };
  return undefined;
};
