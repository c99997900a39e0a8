/** The cards of DNS that follows public IPs (golden), and that data in them is escaped. */
import { describe, expect, it } from 'vitest';
import {
  dnsFailedCard,
  dnsUpdatedCard,
  ipChangedByDeploymentCard,
  ipChangedCard,
} from '../../src/slack/blocks/alerts.ts';
import { at } from '../support/builders.ts';

const api = { service: 'api', environment: 'production' };
const now = at('2026-11-21T12:00:00Z');

describe('DNS alert cards (golden)', () => {
  it('says the DNS update in the IP alert', async () => {
    const card = ipChangedCard({
      ...api,
      before: ['203.0.113.1', '203.0.113.2'],
      after: ['203.0.113.2', '203.0.113.3'],
      added: ['203.0.113.3'],
      removed: ['203.0.113.1'],
      replacements: [],
      cause: { kind: 'none' },
      at: now,
      dns: [{ name: 'api.example.com', ips: ['203.0.113.2', '203.0.113.3'] }],
    });
    expect(card.text).toBe(
      'Public IPs of api · production changed (not caused by a deployment): added 203.0.113.3; removed 203.0.113.1. DNS updated: api.example.com → 203.0.113.2, 203.0.113.3',
    );
    await expect(card).toMatchFileSnapshot('golden/alert-ip-changed-dns.json');
  });

  it('says it in the summary of a rollout too', () => {
    const card = ipChangedByDeploymentCard({
      ...api,
      before: ['203.0.113.1'],
      after: ['203.0.113.7'],
      added: ['203.0.113.7'],
      removed: ['203.0.113.1'],
      replacements: [],
      cause: { kind: 'dockhand', seq: 42, operation: 'deploy', requestedBy: 'U0REQUESTER' },
      since: at('2026-11-21T11:55:00Z'),
      at: now,
      stillInProgress: false,
      dns: [{ name: 'api.example.com', ips: ['203.0.113.7'] }],
    });
    expect(card.text).toContain('DNS updated: api.example.com → 203.0.113.7');
    expect(JSON.stringify(card.blocks)).toContain('DNS updated: `api.example.com` → `203.0.113.7`');
  });

  it('renders an update on its own and a failed change', async () => {
    const updated = dnsUpdatedCard({ ...api, updates: [{ name: 'api.example.com', ips: ['203.0.113.7'] }], at: now });
    expect(updated.text).toBe('api · production: DNS updated: api.example.com → 203.0.113.7');
    await expect(updated).toMatchFileSnapshot('golden/alert-dns-updated.json');

    const failed = dnsFailedCard({
      ...api,
      name: 'api.example.com',
      ips: ['203.0.113.7'],
      reason: 'update the DNS record api.example.com: AccessDenied: not authorized',
    });
    expect(failed.text).toBe(
      'api · production: DNS update of api.example.com failed: update the DNS record api.example.com: AccessDenied: not authorized',
    );
    await expect(failed).toMatchFileSnapshot('golden/alert-dns-failed.json');
  });

  it('escapes what it shows', () => {
    const hostile = '<!channel> <@U123>';
    const card = dnsFailedCard({ ...api, name: 'api.example.com', ips: [], reason: hostile });
    expect(card.text).not.toContain('<!channel>');
    expect(JSON.stringify(card.blocks)).not.toContain('<!channel>');
  });
});
