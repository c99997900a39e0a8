import { describe, expect, it } from 'vitest';
import {
  decodeSlackText,
  isValidGitRef,
  parseDeploy,
  parseDockhand,
  parseLogs,
  parseRollback,
  parseScale,
  parseStatus,
} from '../../src/core/grammar.ts';
import { resolveTarget } from '../../src/core/targets.ts';
import { DockhandError, UsageError } from '../../src/errors.ts';
import { deployConfig } from '../support/deploy-fakes.ts';

const usageErrorOf = (fn: () => unknown): UsageError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('expected a UsageError');
};

describe('/deploy grammar', () => {
  it('takes a bare service', () => {
    expect(parseDeploy('api')).toEqual({ service: 'api', restart: false, dryRun: false });
  });

  it('takes a ref, an environment and flags in any order after the service', () => {
    expect(parseDeploy('api v1.4.2 to production --dry-run')).toEqual({
      service: 'api',
      ref: 'v1.4.2',
      env: 'production',
      restart: false,
      dryRun: true,
    });
    expect(parseDeploy('api in staging feature/login')).toMatchObject({ env: 'staging', ref: 'feature/login' });
  });

  it('takes image:<tag> instead of a ref', () => {
    expect(parseDeploy('api image:1.4.2 to production')).toMatchObject({ imageTag: '1.4.2', env: 'production' });
  });

  it('takes image:sha256:<64 hex> (a digest, as a CI delivery names it) instead of a tag', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    expect(parseDeploy(`api image:${digest} to prod --emergency checkout down`)).toMatchObject({
      imageTag: digest,
      env: 'prod',
      emergency: 'checkout down',
    });
  });

  it('reads the en dash Slack clients substitute for --', () => {
    expect(parseDeploy('api \u2013restart')).toMatchObject({ restart: true });
  });

  it.each([
    ['', 'Which service?'],
    ['api main develop', 'Unexpected “develop”'],
    ['api --force', 'Unknown option “--force”'],
    ['api to', '“to” needs an environment'],
    ['api to a in b', 'given twice'],
    ['api main --restart', '--restart redeploys'],
    ['api image:', 'not a valid image tag'],
    ['api image:sha256:abc', 'not a valid image digest'],
    [`api image:sha256:${'A'.repeat(64)}`, 'not a valid image digest'],
    [`api image:sha256:${'a'.repeat(65)}`, 'not a valid image digest'],
    [`api image:sha512:${'a'.repeat(64)}`, 'not a valid image tag'],
    ['api -rf', 'Unknown option'],
    ['api foo..bar', 'not a valid git ref'],
    ['API', 'not a service name'],
  ])('refuses %j with a message and the usage line', (text, message) => {
    const error = usageErrorOf(() => parseDeploy(text));
    expect(error.message).toContain(message);
    expect(error.hint).toContain('/deploy <service> [<git-ref> | image:<tag>] [to <env>] [--restart] [--dry-run]');
  });
});

describe('git ref validation', () => {
  it.each(['main', 'v1.4.2', 'feature/login-form', 'a1b2c3d', 'release-2026.11'])('accepts %s', (ref) => {
    expect(isValidGitRef(ref)).toBe(true);
  });
  it.each(['-main', '--upload-pack=x', 'a..b', 'a b', 'x.lock', 'a/.b', 'refs/', 'x@{1}', 'a:b', 'a~1', '@', 'a\\b'])(
    'refuses %s',
    (ref) => {
      expect(isValidGitRef(ref)).toBe(false);
    },
  );
});

describe('/scale grammar', () => {
  it('takes a count and an environment', () => {
    expect(parseScale('api 4 in production')).toEqual({ service: 'api', count: 4, env: 'production' });
  });
  it.each(['api', 'api four', 'api -1', 'api 2.5', 'api 3 4'])('refuses %j', (text) => {
    expect(() => parseScale(text)).toThrow(UsageError);
  });
});

describe('/rollback grammar', () => {
  it('takes an optional environment and revision', () => {
    expect(parseRollback('api')).toEqual({ service: 'api' });
    expect(parseRollback('api to production 41')).toEqual({ service: 'api', env: 'production', revision: 41 });
  });
  it.each(['api latest', 'api 0', 'api 4 5'])('refuses %j', (text) => {
    expect(() => parseRollback(text)).toThrow(UsageError);
  });
});

describe('/status grammar', () => {
  it('takes nothing, a service, or a service and environment', () => {
    expect(parseStatus('')).toEqual({ service: undefined });
    expect(parseStatus('api in production')).toEqual({ service: 'api', env: 'production' });
  });
  it('refuses extra words and an environment without a service', () => {
    expect(() => parseStatus('api production')).toThrow('Unexpected “production”');
    expect(() => parseStatus('in production')).toThrow('Name the service');
  });
});

describe('/logs grammar', () => {
  it('defaults to the last 15 minutes and keeps grep text whole', () => {
    expect(parseLogs('api')).toEqual({ service: 'api', sinceMs: 15 * 60_000 });
    expect(parseLogs('api in prod since 5m grep connection refused')).toEqual({
      service: 'api',
      env: 'prod',
      sinceMs: 5 * 60_000,
      grep: 'connection refused',
    });
  });
  it('decodes the HTML entities Slack sends', () => {
    expect(parseLogs('api grep a &lt;b&gt; &amp; c').grep).toBe('a <b> & c');
  });
  it.each(['api since', 'api since 2d', 'api since soon', 'api grep', 'api tail'])('refuses %j', (text) => {
    expect(() => parseLogs(text)).toThrow(UsageError);
  });
});

describe('/dockhand grammar', () => {
  it('parses each subcommand', () => {
    expect(parseDockhand('')).toEqual({ sub: 'help' });
    expect(parseDockhand('help')).toEqual({ sub: 'help' });
    expect(parseDockhand('lock api in production db migration running')).toEqual({
      sub: 'lock',
      service: 'api',
      env: 'production',
      reason: 'db migration running',
    });
    expect(parseDockhand('unlock api')).toEqual({ sub: 'unlock', service: 'api', env: undefined });
    expect(parseDockhand('ips api in staging')).toEqual({ sub: 'ips', service: 'api', env: 'staging' });
  });
  it('refuses an unknown subcommand and extra words', () => {
    expect(() => parseDockhand('deploy api')).toThrow('Unknown subcommand “deploy”');
    expect(() => parseDockhand('history api now')).toThrow('Unexpected “now”');
    expect(() => parseDockhand('help me')).toThrow(UsageError);
    expect(() => parseDockhand('hlep')).toThrow('Unknown subcommand “hlep”. Did you mean “help”?');
  });
  it('reads subcommands and keywords whatever their case, and keeps the case of names and reasons', () => {
    expect(parseDockhand('HELP')).toEqual({ sub: 'help' });
    expect(parseDockhand('Lock api IN production DB migration')).toEqual({
      sub: 'lock',
      service: 'api',
      env: 'production',
      reason: 'DB migration',
    });
    expect(parseDeploy('api Feature/Login TO production --DRY-RUN')).toMatchObject({
      ref: 'Feature/Login',
      env: 'production',
      dryRun: true,
    });
    expect(parseDeploy('api IMAGE:V1.4')).toMatchObject({ imageTag: 'V1.4' });
    expect(parseDeploy('api --Restart')).toMatchObject({ restart: true });
    expect(parseLogs('api In staging SINCE 1h GREP Error')).toMatchObject({
      env: 'staging',
      sinceMs: 3_600_000,
      grep: 'Error',
    });
    expect(parseScale('api 3 In staging')).toMatchObject({ count: 3, env: 'staging' });
    expect(parseStatus('api IN staging')).toMatchObject({ env: 'staging' });
  });
  it('refuses names an object inherits, which are no subcommands', () => {
    expect(() => parseDockhand('constructor api')).toThrow('Unknown subcommand “constructor”');
  });
});

describe('resolving a service and environment', () => {
  const config = deployConfig();
  it('says a name an object inherits is no service or environment, instead of failing inside dockhand', () => {
    expect(() => resolveTarget(config, 'constructor')).toThrow('There is no service `constructor`');
    expect(() => resolveTarget(config, 'api', 'constructor')).toThrow('`api` has no environment `constructor`');
  });
  it('suggests the service or environment a typo was close to, with the known ones', () => {
    const hintOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        if (e instanceof DockhandError) return e.hint;
      }
      throw new Error('expected a DockhandError');
    };
    expect(hintOf(() => resolveTarget(config, 'apu'))).toBe('Did you mean `api`? Known services: `api`.');
    expect(hintOf(() => resolveTarget(config, 'billing'))).toBe('Known services: `api`.');
    expect(hintOf(() => resolveTarget(config, 'api', 'prodution'))).toMatch(
      /^Did you mean `production`\? Its environments:/,
    );
  });
});

describe('Slack text decoding', () => {
  it('turns links and mentions into their labels', () => {
    expect(decodeSlackText('<#C123|deploys> <https://x.test|x.test> <mailto:a@b>')).toBe('deploys x.test mailto:a@b');
  });

  it('unescapes &amp;, &lt; and &gt; with or without a link, and leaves plain text as it is', () => {
    expect(decodeSlackText('a &amp;&amp; b &lt;c&gt;')).toBe('a && b <c>');
    expect(decodeSlackText('x &amp; <https://y.test|y>')).toBe('x & y');
    expect(decodeSlackText('api in production --emergency hotfix')).toBe('api in production --emergency hotfix');
  });
});
