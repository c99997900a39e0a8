/**
 * Route 53 A records, the DnsRecords port (src/ports.ts), over the SDK's Route 53 client (REST-XML), loaded on first
 * use (sdk.ts): a dockhand without `watch.publicIps.dns` never loads it.
 *
 *   readA    ONE ListResourceRecordSets (StartRecordName/Type, MaxItems 1): only for a record the watch does not
 *            remember yet (first tick, new config).
 *   upsertA  ONE ChangeResourceRecordSets (UPSERT): only when the settled IP set differs from the record.
 *
 * IAM: route53:ListResourceRecordSets and route53:ChangeResourceRecordSets on arn:aws:route53:::hostedzone/<zone>.
 */
import { AwsError } from '../../errors.ts';
import type { DnsRecords } from '../../ports.ts';
import type { AwsClients } from './clients.ts';
import { route53Sdk } from './sdk.ts';

/** Route 53 writes names with a final dot, and escapes "*" and other octets as \NNN. */
const plainName = (name: string): string =>
  name
    .replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)))
    .toLowerCase()
    .replace(/\.$/, '');

export class Route53Records implements DnsRecords {
  readonly #clients: AwsClients;

  constructor(clients: AwsClients) {
    this.#clients = clients;
  }

  async readA(zone: string, name: string): Promise<{ ips: string[]; ttl: number } | undefined> {
    const { ListResourceRecordSetsCommand } = route53Sdk();
    try {
      const out = await this.#clients.forRegion().route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zone,
          StartRecordName: name,
          StartRecordType: 'A',
          MaxItems: 1,
        }),
      );
      const found = out.ResourceRecordSets?.find(
        (r) => r.Type === 'A' && plainName(r.Name ?? '') === name && r.SetIdentifier === undefined,
      );
      if (!found || found.AliasTarget) return undefined;
      const ips = (found.ResourceRecords ?? []).flatMap((r) => (r.Value ? [r.Value] : []));
      return { ips, ttl: found.TTL ?? 0 };
    } catch (error) {
      throw new AwsError(`read the DNS record ${name}`, error);
    }
  }

  async upsertA(zone: string, name: string, ips: readonly string[], ttl: number, comment: string): Promise<void> {
    const { ChangeResourceRecordSetsCommand } = route53Sdk();
    try {
      await this.#clients.forRegion().route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: zone,
          ChangeBatch: {
            Comment: comment.slice(0, 256),
            Changes: [
              {
                Action: 'UPSERT',
                ResourceRecordSet: {
                  Name: name,
                  Type: 'A',
                  TTL: ttl,
                  ResourceRecords: ips.map((ip) => ({ Value: ip })),
                },
              },
            ],
          },
        }),
      );
    } catch (error) {
      throw new AwsError(`update the DNS record ${name}`, error);
    }
  }
}
