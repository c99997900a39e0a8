import { describe, expect, it } from 'vitest';
import { parsePromote } from '../../src/core/grammar.ts';
import { UsageError } from '../../src/errors.ts';
import { createPrng } from '../support/fake-aws/prng.ts';

const usageErrorOf = (text: string): UsageError => {
  try {
    parsePromote(text);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error(`expected “${text}” to be refused`);
};

describe('/promote grammar', () => {
  it('takes a target alone: the source is left to the config', () => {
    expect(parsePromote('api to production')).toEqual({ service: 'api', to: 'production', dryRun: false });
  });

  it('takes a source and a target in either order, keywords in any case', () => {
    const expected = { service: 'api', from: 'staging', to: 'production', dryRun: false };
    expect(parsePromote('api from staging to production')).toEqual(expected);
    expect(parsePromote('api TO production FROM staging')).toEqual(expected);
  });

  it('takes --dry-run and --emergency like /deploy (Slack’s dash included)', () => {
    expect(parsePromote('api to production --dry-run')).toMatchObject({ dryRun: true });
    expect(parsePromote('api to production —emergency checkout is down')).toMatchObject({
      emergency: 'checkout is down',
    });
  });

  it.each([
    ['', 'Which service? Name one.'],
    ['api', 'Promote to which environment?'],
    ['api from staging', 'Promote to which environment?'],
    ['api from staging to staging', '`staging` is both the source and the target'],
    ['api to production to staging', 'The target environment is given twice.'],
    ['api from a from b to c', 'The source environment is given twice.'],
    ['api to', '“to” needs an environment after it.'],
    ['api to Prod!', '“Prod!” is not an environment name.'],
    ['api staging to production', 'Unexpected “staging”'],
    ['api to production --force', 'Unknown option “--force”.'],
    ['api to production --emergency', '--emergency needs a reason'],
  ])('refuses “%s” with the usage line', (text, message) => {
    const error = usageErrorOf(text);
    expect(error.message).toContain(message);
    expect(error.usage).toBe('/promote <service> [from <env>] to <env> [--dry-run] [--emergency <reason>]');
  });
});

describe('/promote grammar on hostile text', () => {
  const TOKENS = [
    'api',
    'to',
    'TO',
    'from',
    'production',
    'staging',
    '--dry-run',
    '--emergency',
    '—emergency',
    '<@U0EVIL>',
    '<!here>',
    '&lt;script&gt;',
    'Prod!',
    'a'.repeat(300),
    '-',
    '--',
    'from',
    'to',
    '\u202eevil',
    'xoxb-1-2-secret',
  ];
  const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

  it('refuses with a UsageError or returns well-formed names, for 2,000 seeded texts', () => {
    const prng = createPrng(14);
    const bad: string[] = [];
    for (let i = 0; i < 2000; i++) {
      const text = Array.from({ length: 1 + prng.int(7) }, () => TOKENS[prng.int(TOKENS.length)]).join(' ');
      try {
        const r = parsePromote(text);
        const names = [r.service, r.to, ...(r.from === undefined ? [] : [r.from])];
        if (!names.every((n) => NAME.test(n)) || r.from === r.to) bad.push(`${text} → ${JSON.stringify(r)}`);
      } catch (e) {
        if (!(e instanceof UsageError)) bad.push(`${text} threw ${String(e)}`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });
});
