import { describe, expect, it } from 'vitest';
import { maskSecrets } from '../../src/logger.ts';
import { codeBlock } from '../../src/slack/blocks/deploy.ts';

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
