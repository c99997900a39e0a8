import { describe, expect, it } from 'vitest';
import { helpText } from '../../commands/dockhand.ts';
import type { Lock } from '../../src/ports.ts';
import { ipsMessage, lockedMessage, logsMessage, unlockedMessage } from '../../src/slack/blocks/operate.ts';
import { at } from '../support/builders.ts';

const lock = (reason: string): Lock => ({
  service: 'api',
  environment: 'production',
  owner: 'manual:U0ALICE',
  instance: 'test',
  holder: 'U0ALICE',
  reason,
  acquiredAt: at('2026-11-20T10:00:00Z'),
});

describe('lock and unlock announcements', () => {
  it('mention the people in the fallback text, so the notification names them', () => {
    expect(lockedMessage('api', 'production', lock('db migration')).text).toBe(
      '<@U0ALICE> locked api in production: db migration',
    );
    expect(unlockedMessage('api', 'production', 'U0BOB', lock('db migration')).text).toBe(
      '<@U0BOB> unlocked api in production',
    );
  });

  it('escape and mask the reason in the fallback text, while the mention stays one', () => {
    const text = lockedMessage(
      'api',
      'production',
      lock('<!channel> rotating xoxb-1234567890-0987654321-AbCdEfGh & co'),
    ).text;
    expect(text).toBe('<@U0ALICE> locked api in production: &lt;!channel&gt; rotating [REDACTED] &amp; co');
  });
});

describe('replies to /logs and /dockhand ips', () => {
  it('escape what AWS returns in the fallback text and the lines', () => {
    const ips = ipsMessage({
      service: 'api',
      environment: 'production',
      platform: 'ecs',
      tasks: [{ id: 't1', revision: 'api:3', lastStatus: 'RUNNING', publicIp: '<!here>', privateIp: '10.0.0.1' }],
    });
    expect(ips.text).toBe('api · production: &lt;!here&gt;');
    const logs = logsMessage({
      found: true,
      service: 'api',
      environment: 'production',
      group: '/ecs/api',
      sinceMs: 60_000,
      grep: undefined,
      lines: [{ at: at('2026-11-20T10:00:00Z'), taskId: '<!here>x', message: 'ok' }],
      matched: 1,
      cut: false,
      more: false,
    });
    expect(JSON.stringify(logs)).not.toContain('<!here');
  });
});

describe('/dockhand help', () => {
  it('shows the usage placeholders as text, not as links Slack would swallow', () => {
    const help = helpText();
    expect(help).toContain('`/status [&lt;service&gt;] [in &lt;env&gt;]`');
    expect(help.replace(/&(amp|lt|gt);/g, '')).not.toMatch(/[<>&]/);
  });
});
