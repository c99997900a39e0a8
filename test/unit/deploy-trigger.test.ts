import { describe, expect, it } from 'vitest';
import { readEnv } from '../../src/config/env.ts';
import { parseConfig } from '../../src/config/index.ts';
import { ciDeploys, githubDeploys, isRepository, parseCiDelivery, parseGithubPush } from '../../src/core/trigger.ts';
import { ConfigError } from '../../src/errors.ts';
import { missingHookSecrets, signatureOf, verifySignature } from '../../src/http/hooks.ts';

const config = (environments: string, source = 'source: { git: "git@github.com:acme/api.git" }') => `
defaults: { channel: "#deploys" }
registries: { ecr: { type: ecr } }
approvals: { prod: { approvers: ["U0123ABCD"] } }
services:
  api:
    ${source}
    image: { registry: ecr, repository: acme/api }
    environments:
${environments}`;

const TWO = `      staging:
        target: { type: ecs, cluster: staging, service: api, container: app }
        trigger: { source: ci, branches: [main, develop], auto: true }
      production:
        target: { type: ecs, cluster: prod, service: api, container: app }
        approval: prod
        trigger: { source: github, branches: [main] }
      qa:
        target: { type: ecs, cluster: qa, service: api, container: app }`;

const problemsOf = (text: string): readonly string[] => {
  try {
    parseConfig(text, { env: {}, source: 'test.yml' });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected the config to be rejected');
};

const delivery = (overrides: Record<string, unknown> = {}) =>
  parseCiDelivery(
    JSON.stringify({
      service: 'api',
      image: '1.4.2',
      commit: 'abc1234',
      branch: 'main',
      buildUrl: 'https://ci.example.com/1',
      ...overrides,
    }),
  );

describe('deploy triggers in dockhand.yml', () => {
  it('accepts a trigger per environment', () => {
    const parsed = parseConfig(config(TWO), { env: {} });
    expect(parsed.services.api?.environments.production?.trigger).toEqual({
      source: 'github',
      branches: ['main'],
      auto: false,
    });
  });

  it('names the path of a trigger that cannot work', () => {
    const env = (trigger: string, approval = '') =>
      `      staging:\n        target: { type: ecs, cluster: s, service: api, container: app }\n${approval}        trigger: ${trigger}\n`;
    expect(problemsOf(config(env('{ source: ci, branches: [main] }')))).toEqual([
      expect.stringMatching(/^services\.api\.environments\.staging\.trigger\.auto: .*false needs an approval policy/),
    ]);
    expect(problemsOf(config(env('{ source: jenkins, branches: [main], auto: true }')))).toEqual([
      expect.stringMatching(/^services\.api\.environments\.staging\.trigger\.source: .*expected "ci" or "github"/),
    ]);
    expect(problemsOf(config(env('{ source: ci, branches: [], auto: true }')))[0]).toMatch(
      /^services\.api\.environments\.staging\.trigger\.branches: /,
    );
    expect(
      problemsOf(config(env('{ source: github, branches: [main], auto: true }'), 'source: { path: ./api }')),
    ).toEqual([expect.stringMatching(/trigger\.source: .*github builds the pushed commit: the service needs source/)]);
  });
});

describe('what a delivery asks for', () => {
  const parsed = parseConfig(config(TWO), { env: {} });

  it('deploys a CI image to every environment whose ci trigger lists the branch, when it names none', () => {
    const deploys = ciDeploys(parsed, delivery({ branch: 'develop' }));
    expect(deploys.map((d) => d.target.environment)).toEqual(['staging']);
    expect(deploys[0]).toMatchObject({
      requester: 'CI (https://ci.example.com/1)',
      request: { imageTag: '1.4.2', trigger: { source: 'ci', commit: 'abc1234', branch: 'develop' } },
    });
  });

  it('refuses an environment whose trigger is another source, or a branch no environment takes', () => {
    expect(() => ciDeploys(parsed, delivery({ environment: 'production' }))).toThrow(
      expect.objectContaining({ problem: 'not_allowed', denial: expect.objectContaining({ kind: 'trigger_not_set' }) }),
    );
    expect(() => ciDeploys(parsed, delivery({ branch: 'feature' }))).toThrow(
      /no environment of api takes deploys of branch feature/,
    );
    expect(() => ciDeploys(parsed, delivery({ service: 'constructor' }))).toThrow(/no service constructor/);
  });

  it('refuses a malformed CI body naming the field', () => {
    expect(() => delivery({ buildUrl: 'javascript:alert(1)' })).toThrow(/^buildUrl: expected an http/);
    expect(() => delivery({ extra: 1 })).toThrow(/extra/);
    expect(() => delivery({ commit: 'HEAD' })).toThrow(/^commit: /);
    expect(() => parseCiDelivery('null')).toThrow(/expected object/);
  });

  it('builds a GitHub push of a listed branch for the services built from that repository', () => {
    const push = (ref: string, repo = 'acme/api') =>
      parseGithubPush(JSON.stringify({ ref, after: 'f'.repeat(40), repository: { full_name: repo } }));
    const main = push('refs/heads/main');
    if (main.kind !== 'push') throw new Error('expected a push');
    expect(githubDeploys(parsed, main).map((d) => [d.target.environment, d.request])).toEqual([
      ['production', expect.objectContaining({ ref: 'f'.repeat(40) })],
    ]);
    const other = push('refs/heads/main', 'acme/web');
    expect(other.kind === 'push' && githubDeploys(parsed, other)).toEqual([]);
    expect(push('refs/tags/v1')).toEqual({ kind: 'ignored', reason: 'refs/tags/v1 is not a branch' });
  });

  it('recognises a repository in the usual git URL forms', () => {
    for (const url of [
      'git@github.com:acme/api.git',
      'https://github.com/acme/api',
      'https://github.com/Acme/API.git',
      'ssh://git@github.com/acme/api.git',
    ]) {
      expect(isRepository(url, 'acme/api')).toBe(true);
    }
    expect(isRepository('git@github.com:acme/api-old.git', 'acme/api')).toBe(false);
    expect(isRepository('git@github.com:notacme/api.git', 'acme/api')).toBe(false);
  });
});

describe('hook secrets and signatures', () => {
  it('verifies an HMAC-SHA256 signature and refuses any other', () => {
    const body = Buffer.from('1700000000.{"a":1}');
    const good = signatureOf('secret-0123456789abcdef', body);
    expect(good).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('secret-0123456789abcdef', body, good)).toBe(true);
    expect(verifySignature('secret-0123456789abcdeX', body, good)).toBe(false);
    expect(verifySignature('secret-0123456789abcdef', body, good.slice(0, -1))).toBe(false);
    expect(verifySignature('secret-0123456789abcdef', body, '')).toBe(false);
  });

  it('names the variable a configured trigger needs, and refuses a short secret', () => {
    const parsed = parseConfig(config(TWO), { env: {} });
    expect(missingHookSecrets(parsed, { ci: 'x'.repeat(16) })).toEqual([
      'DOCKHAND_GITHUB_WEBHOOK_SECRET: not set: services.api.environments.production.trigger takes github deliveries, signed with it',
    ]);
    expect(missingHookSecrets(parsed, { ci: 'x'.repeat(16), github: 'y'.repeat(16) })).toEqual([]);
    expect(() =>
      readEnv({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', DOCKHAND_CI_SECRET: 'short' }),
    ).toThrow(/DOCKHAND_CI_SECRET: expected a secret of at least 16 characters/);
    const settings = readEnv({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_APP_TOKEN: 'xapp-1',
      DOCKHAND_CI_SECRET: 'z'.repeat(20),
    });
    expect(settings.hookSecrets).toEqual({ ci: 'z'.repeat(20), github: undefined });
    expect(settings.secrets).toContain('z'.repeat(20));
  });
});
