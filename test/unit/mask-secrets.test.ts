import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { secretValuesOf } from '../../src/app.ts';
import { readEnv } from '../../src/config/env.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger, MIN_KNOWN_SECRET_LENGTH, maskKnownSecrets, maskSecrets } from '../../src/logger.ts';
import { codeBlock } from '../../src/slack/blocks/deploy.ts';
import { logsMessage } from '../../src/slack/blocks/operate.ts';

describe('masking secrets in text bound for Slack or a log line', () => {
  it('masks values of keys that name a secret with a suffix, as AWS and most apps spell them', () => {
    const text = [
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      '{"secretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}',
      'DJANGO_SECRET_KEY=abc123def456',
      'db_password_plain: hunter2',
    ].join('\n');
    const masked = maskSecrets(text);
    expect(masked).not.toContain('wJalrXUtnFEMI');
    expect(masked).not.toContain('abc123def456');
    expect(masked).not.toContain('hunter2');
    expect(masked).toContain('AWS_SECRET_ACCESS_KEY=[REDACTED]');
  });

  it('keeps ordinary words that merely start like one', () => {
    expect(maskSecrets('author: Ada Lovelace')).toBe('author: Ada Lovelace');
    expect(maskSecrets('tokenizer=fast')).toBe('tokenizer=fast');
  });

  it('masks a build step that printed an AWS secret key on the failure card', () => {
    const block = codeBlock(['+ export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'], '*Output*');
    expect(block).not.toContain('wJalrXUtnFEMI');
  });
});

describe('masking the secret values dockhand knows, wherever they appear', () => {
  afterEach(() => maskKnownSecrets([]));

  const REGISTRY_PASSWORD = 'Tr0ub4dor-registry';
  const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET';

  it('masks a known value as a bare word, not only after password= or secret:', () => {
    maskKnownSecrets([REGISTRY_PASSWORD, AWS_SECRET]);
    const masked = maskSecrets(`login with ${REGISTRY_PASSWORD} failed; key was ${AWS_SECRET}.`);
    expect(masked).toBe('login with [REDACTED] failed; key was [REDACTED].');
  });

  it(`leaves values shorter than ${MIN_KNOWN_SECRET_LENGTH} characters to the shape rules (too many false positives)`, () => {
    maskKnownSecrets(['admin', 'hunter2']);
    expect(maskSecrets('admin logged in with hunter2')).toBe('admin logged in with [REDACTED]');
    expect(maskSecrets('password=admin')).toBe('password=[REDACTED]');
  });

  it('masks a value that contains another known value whole', () => {
    maskKnownSecrets(['abcdef', 'abcdef-longer-secret']);
    expect(maskSecrets('x abcdef-longer-secret y')).toBe('x [REDACTED] y');
  });

  it('takes the registry passwords once interpolated, and the credentials in the environment', () => {
    const config = parseConfig(
      `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  inhouse: { type: registry, address: "registry.internal:5000", username: bot, password: "\${REGISTRY_PASSWORD}" }
services:
  api:
    image: { registry: inhouse, repository: api }
    environments:
      prod: { target: { type: ecs, cluster: prod, service: api, container: app } }
`,
      { env: { REGISTRY_PASSWORD } },
    );
    const settings = readEnv({
      SLACK_BOT_TOKEN: 'xoxb-111-222-botbotbot',
      SLACK_SIGNING_SECRET: 'f00dfeed5ecret',
      AWS_SECRET_ACCESS_KEY: AWS_SECRET,
      AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLESESSION',
      DOCKHAND_DATABASE_URL: 'postgres://dockhand:db-pa%24%24word@db/dockhand',
    });
    expect(secretValuesOf(settings, config).sort()).toEqual(
      [
        'xoxb-111-222-botbotbot',
        'f00dfeed5ecret',
        AWS_SECRET,
        'IQoJb3JpZ2luX2VjEXAMPLESESSION',
        'db-pa$$word',
        REGISTRY_PASSWORD,
      ].sort(),
    );
  });

  it('masks them in every log line: the message, fields and errors', () => {
    maskKnownSecrets([REGISTRY_PASSWORD]);
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger('info', destination);
    logger.info({ detail: `pull with ${REGISTRY_PASSWORD}` }, `push failed: ${REGISTRY_PASSWORD} rejected`);
    logger.error({ err: new Error(`denied for ${REGISTRY_PASSWORD}`) }, 'oops');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(REGISTRY_PASSWORD);
      expect(line).toContain('[REDACTED]');
    }
  });

  it('masks them in /logs lines, where they are bare values rather than key=value', () => {
    maskKnownSecrets([REGISTRY_PASSWORD, AWS_SECRET]);
    const card = logsMessage({
      found: true,
      service: 'api',
      environment: 'production',
      group: '/ecs/api',
      sinceMs: 300_000,
      grep: undefined,
      matched: 2,
      more: false,
      cut: false,
      lines: [
        {
          at: new Date('2026-11-20T10:00:00Z'),
          taskId: 'abcdef123456',
          message: `docker login -p ${REGISTRY_PASSWORD}`,
        },
        { at: new Date('2026-11-20T10:00:01Z'), taskId: 'abcdef123456', message: `using ${AWS_SECRET}` },
      ],
    });
    const text = JSON.stringify(card);
    expect(text).not.toContain(REGISTRY_PASSWORD);
    expect(text).not.toContain(AWS_SECRET);
  });
});

describe('masking common secret shapes', () => {
  it.each([
    ['a Slack bot token', 'token xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp here', 'xoxb-'],
    ['a Slack app token', 'xapp-1-A0123-456-abcdefabcdef', 'xapp-'],
    ['a Slack token glued to a word', 'tokenxoxb-1234567890-0987654321-AbCd', 'xoxb-'],
    ['a Slack webhook URL', 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX', 'XXXXXXXX'],
    ['an AWS access key id', 'key AKIAIOSFODNN7EXAMPLE used', 'AKIAIOSFODNN7EXAMPLE'],
    ['a bearer token in any case', 'curl -H "authorisation: bearer eyJhbGciOiJIUzI1NiJ9.e30.abc"', 'eyJhbGci'],
    ['a GitHub token', 'git clone https://ghp_abcdefghijklmnopqrstuvwxyz0123456789@github.com/a/b', 'ghp_abc'],
    ['a password in a URL', 'connecting to postgres://dockhand:s3cr3t-pw@db:5432/x', 's3cr3t-pw'],
    [
      'a private-key block',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\nnext',
      'b3BlbnNzaC1rZXkt',
    ],
    [
      'the start of a private key whose end was cut',
      'key: -----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA',
      'MIIEow',
    ],
  ])('masks %s', (_what, text, secret) => {
    const masked = maskSecrets(text);
    expect(masked).not.toContain(secret);
    expect(masked).toContain('[REDACTED]');
  });

  it('keeps the user of a URL and what follows a private key', () => {
    expect(maskSecrets('postgres://dockhand:s3cr3t-pw@db:5432/x')).toBe('postgres://dockhand:[REDACTED]@db:5432/x');
    expect(maskSecrets('-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\nnext')).toBe(
      '[REDACTED]\nnext',
    );
    expect(maskSecrets('ssh://ec2-user@203.0.113.10')).toBe('ssh://ec2-user@203.0.113.10');
  });
});
