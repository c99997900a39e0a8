import { execFileSync } from 'node:child_process';
import { parseXML } from '@aws-sdk/xml-builder';
import { describe, expect, it } from 'vitest';
import { parseQueryXml } from '../../src/adapters/aws/query-xml.ts';
import { ec2Answer, FakeAws } from '../support/fake-aws/index.ts';

const addEni = (fake: FakeAws, id: string, publicIp?: string) =>
  fake.enis.set(id, {
    id,
    privateIp: '10.0.0.1',
    ...(publicIp === undefined ? {} : { publicIp }),
    subnetId: 'subnet-0abc',
    securityGroups: ['sg-0abc', 'sg-0def'],
    macAddress: '02:00:00:00:00:01',
    taskArn: `task-with-${id}`,
    attachmentId: `att-${id}`,
    createdAt: new Date(0),
    deleted: false,
  });

const root = new URL('../../', import.meta.url).pathname;

/**
 * In a fresh Node process with a GC it can call: parse 20 answers of 1.2 MB (past 1 MB, Node makes the decoded body
 * an external string, outside the V8 heap), keep the first ENI id of each, and say how much external memory stays.
 */
const keptByIds = `
const { parseQueryXml } = await import('./src/adapters/aws/query-xml.ts');
const item = (n) => '<item><id>eni-0aaa1111222233' + String(n).padStart(3, '0') + '</id><pad>' + 'x'.repeat(40) + '</pad></item>';
const answer = (n) => Buffer.from('<r><set>' + item(n).repeat(20000) + '</set></r>').toString('utf8');
const kept = [];
globalThis.gc();
const before = process.memoryUsage().external;
for (let n = 0; n < 20; n++) kept.push(parseQueryXml(answer(n)).r.set.item[0].id);
globalThis.gc();
console.log(JSON.stringify({ keptMiB: (process.memoryUsage().external - before) / 2 ** 20, ids: new Set(kept).size }));
`;

const ENI_A = 'eni-0aaa11112222333';
const ENI_B = 'eni-0bbb11112222333';

/** A DescribeNetworkInterfaces answer as the fake AWS renders it, for ENI_A (public IP) and ENI_B (none). */
const eniAnswer = (ids: string[]): string => {
  const fake = new FakeAws();
  addEni(fake, ENI_A, '203.0.113.7');
  addEni(fake, ENI_B);
  return ec2Answer(fake, 'DescribeNetworkInterfaces', { NetworkInterfaceId: ids });
};

describe('parseQueryXml: EC2 query-protocol answers in the shape ec2-query.ts reads', () => {
  it('gives the items of a set as an array when there are several', () => {
    const tree = parseQueryXml(eniAnswer([ENI_A, ENI_B]));

    expect(Object.keys(tree)).toEqual(['DescribeNetworkInterfacesResponse']);
    expect(tree).toMatchObject({
      DescribeNetworkInterfacesResponse: {
        requestId: expect.any(String),
        networkInterfaceSet: {
          item: [
            {
              networkInterfaceId: ENI_A,
              association: { publicIp: '203.0.113.7' },
              groupSet: { item: [{ groupId: 'sg-0abc' }, { groupId: 'sg-0def' }] },
              privateIpAddressesSet: { item: { privateIpAddress: '10.0.0.1', primary: 'true' } },
            },
            expect.not.objectContaining({ association: expect.anything() }),
          ],
        },
      },
    });
  });

  it('gives a single item as an object, not an array of one', () => {
    const tree = parseQueryXml(eniAnswer([ENI_A]));

    expect(tree).toMatchObject({
      DescribeNetworkInterfacesResponse: {
        networkInterfaceSet: { item: { networkInterfaceId: ENI_A, association: { publicIp: '203.0.113.7' } } },
      },
    });
  });

  it('reads an error answer, entities decoded', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      '<Response><Errors><Error><Code>InvalidNetworkInterfaceID.NotFound</Code>' +
      '<Message>The networkInterface ID &apos;eni-1&apos; does not exist</Message></Error></Errors>' +
      '<RequestID>req-1</RequestID></Response>';

    expect(parseQueryXml(xml)).toEqual({
      Response: {
        Errors: {
          Error: {
            Code: 'InvalidNetworkInterfaceID.NotFound',
            Message: "The networkInterface ID 'eni-1' does not exist",
          },
        },
        RequestID: 'req-1',
      },
    });
  });

  it('decodes the five XML entities and character references, and keeps CDATA as is', () => {
    const tree = parseQueryXml(
      '<r><a>Tom &amp; Jerry &lt;3 &gt; &quot;x&quot; &apos;y&apos;</a><b>&#65;&#x42;&#x1F600;</b>' +
        '<c><![CDATA[a &amp; <b>]]></c></r>',
    );

    expect(tree).toEqual({ r: { a: 'Tom & Jerry <3 > "x" \'y\'', b: 'AB😀', c: 'a &amp; <b>' } });
    expect(parseQueryXml('<r>a\r\nb\rc</r>')).toEqual({ r: 'a\nb\nc' });
  });

  it('gives an empty element as an empty string, and reads past attributes, comments and formatting', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<!-- an indented answer, as EC2 sends it -->
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>req-1</requestId>
    <reservationSet>
        <item>
            <groupSet/>
            <instancesSet>
                <item>
                    <instanceId>i-0abc</instanceId>
                    <dnsName></dnsName>
                    <tagSet id="a > b"> </tagSet>
                </item>
            </instancesSet>
        </item>
    </reservationSet>
    <nextToken/>
</DescribeInstancesResponse>`;

    expect(parseQueryXml(xml)).toEqual({
      DescribeInstancesResponse: {
        requestId: 'req-1',
        reservationSet: {
          item: { groupSet: '', instancesSet: { item: { instanceId: 'i-0abc', dnsName: '', tagSet: ' ' } } },
        },
        nextToken: '',
      },
    });
  });

  it('keeps text beside child elements under #text, as the SDK parser did', () => {
    const xml = '<r>a <b>x</b>\n  <b>y</b> c</r>';

    expect(parseQueryXml(xml)).toEqual({ r: { '#text': 'a  c', b: ['x', 'y'] } });
    expect(parseQueryXml(xml)).toEqual(parseXML(xml));
  });

  it('keeps element names that are Object.prototype keys as own keys', () => {
    const { r } = parseQueryXml('<r><__proto__>x</__proto__><toString>y</toString><toString>z</toString></r>');

    expect(Object.getOwnPropertyDescriptor(r, '__proto__')?.value).toBe('x');
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(r, 'toString')?.value).toEqual(['y', 'z']);
  });

  it.each([
    ['an empty body', ''],
    ['text', 'Service Unavailable'],
    ['an element never closed', '<Response><Errors>'],
    ['mismatched tags', '<a><b>x</c></a>'],
    ['a start tag never ended', '<a'],
  ])('throws on %s (ec2-query turns it into an error named after the HTTP status)', (_, xml) => {
    expect(() => parseQueryXml(xml)).toThrow(/XML parse error/);
  });

  it('gives the same tree as the SDK parser it replaced for the fake AWS answers (but for the root xmlns)', () => {
    const fake = new FakeAws();
    for (let s = 0; s < 3; s++) {
      fake.seedService({
        service: `svc-${s}`,
        desiredCount: 2,
        publicIp: s !== 1,
        containers: [{ name: 'app', image: 'acme/app:1' }],
      });
    }
    const sdk = (xml: string) => {
      const tree = parseXML(xml) as Record<string, Record<string, unknown>>;
      for (const root of Object.values(tree)) delete root.xmlns;
      return tree;
    };

    for (const xml of [
      ec2Answer(fake, 'DescribeNetworkInterfaces', {}),
      ec2Answer(fake, 'DescribeNetworkInterfaces', { NetworkInterfaceId: [[...fake.enis.keys()][0]] }),
      ec2Answer(new FakeAws(), 'DescribeNetworkInterfaces', {}),
    ]) {
      expect(parseQueryXml(xml)).toStrictEqual(sdk(xml));
    }
  });

  it('gives texts that do not keep the answer alive (an ENI id cached for hours would hold all 1.5 MB of it)', () => {
    const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', keptByIds], {
      cwd: root,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });

    const { keptMiB, ids } = JSON.parse(out.trim().split('\n').at(-1) ?? '{}');
    expect(ids).toBe(20);
    expect(keptMiB).toBeLessThan(5); // 33 MiB when the ids are slices of their answers
  });
});
