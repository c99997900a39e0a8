import { AwsError } from './errors.ts';
import type { FakeAws } from './fake-aws.ts';
import { ACCOUNT_ID, type EniState, type JsonObject } from './model.ts';

/** EC2 handlers return the XML children of `<{Action}Response>` (the server adds the wrapper and requestId). */
type Handler = (fake: FakeAws, input: JsonObject) => string;

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);
}

function el(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${name}>${xmlEscape(String(value))}</${name}>`;
}

/**
 * Decode a query-protocol form body into nested values: `NetworkInterfaceId.1=a` → `{NetworkInterfaceId: ['a']}`,
 * `Filter.1.Name=x&Filter.1.Value.1=y` → `{Filter: [{Name: 'x', Value: ['y']}]}`.
 */
export function parseQueryParams(params: URLSearchParams): JsonObject {
  const root: JsonObject = {};
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    const parts = key.split('.');
    let node: Record<string, unknown> | unknown[] = root;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i] ?? '';
      const last = i === parts.length - 1;
      const nextIsIndex = !last && /^\d+$/.test(parts[i + 1] ?? '');
      const k: string | number = Array.isArray(node) ? Number(part) - 1 : part;
      const container = node as Record<string | number, unknown>;
      if (last) {
        container[k] = value;
      } else {
        if (container[k] === undefined) container[k] = nextIsIndex ? [] : {};
        node = container[k] as Record<string, unknown> | unknown[];
      }
    }
  }
  return root;
}

function stringList(v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new AwsError('InvalidParameterValue', 'Expected a list parameter.');
  return v.filter((x): x is string => typeof x === 'string');
}

const FILTERS: Record<string, (e: EniState) => Array<string | undefined>> = {
  'network-interface-id': (e) => [e.id],
  'association.public-ip': (e) => [e.publicIp],
  'addresses.association.public-ip': (e) => [e.publicIp],
  'private-ip-address': (e) => [e.privateIp],
  'addresses.private-ip-address': (e) => [e.privateIp],
  'subnet-id': (e) => [e.subnetId],
  status: () => ['in-use'],
  'attachment.status': () => ['attached'],
  'owner-id': () => [ACCOUNT_ID],
};

function describeNetworkInterfaces(fake: FakeAws, input: JsonObject): string {
  const ids = stringList(input.NetworkInterfaceId);
  const filters = (Array.isArray(input.Filter) ? input.Filter : []) as Array<{ Name?: unknown; Value?: unknown }>;
  for (const id of ids) {
    if (!/^eni-[0-9a-f]{8,17}$/.test(id)) {
      throw new AwsError('InvalidNetworkInterfaceID.Malformed', `Invalid id: "${id}" (expecting "eni-...")`);
    }
  }
  const live = [...fake.enis.values()].filter((e) => !e.deleted);
  let result: EniState[];
  if (ids.length) {
    const missing = ids.filter((id) => !live.some((e) => e.id === id));
    if (missing.length) {
      throw new AwsError(
        'InvalidNetworkInterfaceID.NotFound',
        `The networkInterface ID${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' does not exist`,
      );
    }
    result = live.filter((e) => ids.includes(e.id));
  } else {
    result = live;
  }
  for (const f of filters) {
    const name = typeof f.Name === 'string' ? f.Name : '';
    const accessor = FILTERS[name];
    if (!accessor) throw new AwsError('InvalidParameterValue', `The filter '${name}' is invalid`);
    const values = stringList(f.Value);
    result = result.filter((e) => accessor(e).some((v) => v !== undefined && values.includes(v)));
  }
  const items = result.map((e) => {
    const association = e.publicIp
      ? `<association>${el('publicIp', e.publicIp)}${el('publicDnsName', `ec2-${e.publicIp.replaceAll('.', '-')}.compute-1.amazonaws.com`)}${el('ipOwnerId', 'amazon')}</association>`
      : '';
    const dns = `ip-${e.privateIp.replaceAll('.', '-')}.ec2.internal`;
    return (
      '<item>' +
      el('networkInterfaceId', e.id) +
      el('subnetId', e.subnetId) +
      el('vpcId', 'vpc-0fa4e000000000001') +
      el('availabilityZone', 'us-east-1a') +
      el('description', `arn:aws:ecs:us-east-1:${ACCOUNT_ID}:attachment/${e.attachmentId}`) +
      el('ownerId', ACCOUNT_ID) +
      el('requesterId', '578734482556') +
      el('requesterManaged', true) +
      el('status', 'in-use') +
      el('macAddress', e.macAddress) +
      el('privateIpAddress', e.privateIp) +
      el('privateDnsName', dns) +
      el('sourceDestCheck', true) +
      `<groupSet>${e.securityGroups.map((g) => `<item>${el('groupId', g)}${el('groupName', 'default')}</item>`).join('')}</groupSet>` +
      `<attachment>${el('attachmentId', `ela-attach-0${e.id.slice(5, 21)}`)}${el('deviceIndex', 1)}${el('networkCardIndex', 0)}${el('status', 'attached')}${el('attachTime', e.createdAt.toISOString())}${el('deleteOnTermination', false)}</attachment>` +
      association +
      `<privateIpAddressesSet><item>${el('privateIpAddress', e.privateIp)}${el('privateDnsName', dns)}${el('primary', true)}${association}</item></privateIpAddressesSet>` +
      el('interfaceType', 'interface') +
      '</item>'
    );
  });
  return `<networkInterfaceSet>${items.join('')}</networkInterfaceSet>`;
}

/** DescribeInstances by `InstanceId.N` (the container instances' EC2 instances), one reservation per instance. */
function describeInstances(fake: FakeAws, input: JsonObject): string {
  const ids = stringList(input.InstanceId);
  for (const id of ids) {
    if (!/^i-[0-9a-f]{8,17}$/.test(id)) throw new AwsError('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
  }
  const all = [...fake.containerInstances.values()];
  const missing = ids.filter((id) => !all.some((c) => c.ec2InstanceId === id));
  if (missing.length) {
    throw new AwsError(
      'InvalidInstanceID.NotFound',
      missing.length > 1
        ? `The instance IDs '${missing.join(', ')}' do not exist`
        : `The instance ID '${missing[0]}' does not exist`,
    );
  }
  const chosen = ids.length ? all.filter((c) => ids.includes(c.ec2InstanceId)) : all;
  const items = chosen.map(
    (c) =>
      '<item>' +
      el('reservationId', `r-0${c.ec2InstanceId.slice(2)}`) +
      el('ownerId', ACCOUNT_ID) +
      '<groupSet/>' +
      '<instancesSet><item>' +
      el('instanceId', c.ec2InstanceId) +
      el('imageId', 'ami-0fa4e000000000001') +
      `<instanceState>${el('code', 16)}${el('name', 'running')}</instanceState>` +
      el('privateDnsName', `ip-${c.privateIp.replaceAll('.', '-')}.ec2.internal`) +
      el('dnsName', c.publicIp ? `ec2-${c.publicIp.replaceAll('.', '-')}.compute-1.amazonaws.com` : '') +
      el('instanceType', 'm7i.large') +
      el('launchTime', c.registeredAt.toISOString()) +
      `<placement>${el('availabilityZone', 'us-east-1a')}${el('tenancy', 'default')}</placement>` +
      el('subnetId', 'subnet-0fa4e00000000001') +
      el('vpcId', 'vpc-0fa4e000000000001') +
      el('privateIpAddress', c.privateIp) +
      el('ipAddress', c.publicIp) +
      '</item></instancesSet>' +
      '</item>',
  );
  return `<reservationSet>${items.join('')}</reservationSet>`;
}

export const ec2Handlers: Record<string, Handler> = {
  DescribeNetworkInterfaces: describeNetworkInterfaces,
  DescribeInstances: describeInstances,
};
