// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is dockhand.yml's own interpolation syntax
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Env, loadConfig, parseConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';

const EXAMPLE = 'dockhand.example.yml';
const FIXTURES = 'test/fixtures/config';
const exampleEnv: Env = { REGISTRY_USER: 'deployer', REGISTRY_PASSWORD: 'hunter2-s3cret' };

/** A valid config; tests replace parts of it. */
const base = (services = SERVICES, extra = ''): string => `
defaults:
  channel: "#deploys"
registries:
  ecr: { type: ecr }
approvals:
  prod: { approvers: ["U0123ABCD"] }
services:
${services}
${extra}`;

const SERVICES = `  api:
    image: { registry: ecr, repository: acme/api }
    environments:
      production:
        target: { type: ecs, cluster: prod, service: api, container: app }
        approval: prod`;

const problemsOf = (text: string, env: Env = {}): readonly string[] => {
  try {
    parseConfig(text, { env, source: 'test.yml' });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected the config to be rejected');
};

const errorOf = (text: string, env: Env = {}): ConfigError => {
  try {
    parseConfig(text, { env, source: 'test.yml' });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected the config to be rejected');
};

describe('loadConfig', () => {
  it('loads the example config when its registry credentials are set', async () => {
    const config = await loadConfig({ path: EXAMPLE, env: exampleEnv });

    expect(Object.keys(config.services)).toEqual(['api', 'web']);
    expect(config.registries.inhouse).toMatchObject({ type: 'registry', password: 'hunter2-s3cret' });
    expect(config.services.api?.environments.production?.scale).toEqual({ min: 2, max: 12 });
    expect(config.approvals.prod?.expiresAfter).toBe('30m');
  });

  it('fills in defaults', async () => {
    const config = await loadConfig({ path: `${FIXTURES}/minimal.yml`, env: {} });

    expect(config.registries).toEqual({});
    expect(config.services.api?.environments.production?.rolloutTimeout).toBe('30m');
  });

  it('reads the file named by DOCKHAND_CONFIG when no path is given', async () => {
    const config = await loadConfig({ env: { DOCKHAND_CONFIG: `${FIXTURES}/minimal.yml` } });

    expect(Object.keys(config.services)).toEqual(['api']);
  });

  it('says which file it tried and how to point it elsewhere when the file does not exist', async () => {
    const error = await loadConfig({ path: 'nowhere/dockhand.yml', env: {} }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/nowhere\/dockhand\.yml/);
    expect((error as ConfigError).message).toMatch(/DOCKHAND_CONFIG/);
  });

  it('returns a deep-frozen config', async () => {
    const config = await loadConfig({ path: EXAMPLE, env: exampleEnv });
    const target = config.services.api?.environments.production?.target;

    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.services)).toBe(true);
    expect(Object.isFrozen(target)).toBe(true);
    expect(Object.isFrozen(config.approvals.prod?.approvers)).toBe(true);
    expect(() => {
      (config.defaults as { channel?: string }).channel = '#elsewhere';
    }).toThrow(TypeError);
  });
});

describe('parseConfig reports every problem with its path', () => {
  it('accepts the base config used by these tests', () => {
    expect(parseConfig(base(), { env: {} }).services.api?.image?.repository).toBe('acme/api');
  });

  it('names the expected and the actual type', () => {
    const problems = problemsOf(
      base(SERVICES.replace('approval: prod', 'approval: prod\n        scale: { min: 2, max: "twelve" }')),
    );

    expect(problems).toEqual([
      expect.stringMatching(/^services\.api\.environments\.production\.scale\.max: expected number, got string/),
    ]);
  });

  it('adds the line of the offending key', () => {
    const problems = problemsOf(base(SERVICES.replace('cluster: prod', 'cluster: 7')));

    expect(problems).toEqual([
      'services.api.environments.production.target.cluster: expected string, got number (line 13)',
    ]);
  });

  it('lists the allowed target types when the type is unknown', () => {
    const problems = problemsOf(base(SERVICES.replace('type: ecs', 'type: kubernetes')));

    expect(problems[0]).toMatch(
      /^services\.api\.environments\.production\.target\.type: expected type "ecs" or "docker", got "kubernetes"/,
    );
  });

  it('reports every missing environment variable, each with the variable and where it is used', () => {
    const problems = problemsOf(
      base(SERVICES, `digest: { channel: "\${DIGEST_CHANNEL}", schedule: "0 9 * * 1-5" }`).replace(
        'ecr: { type: ecr }',
        'inhouse: { type: registry, address: "r:5000", username: "${REGISTRY_USER}", password: "${REGISTRY_PASSWORD}" }',
      ),
    );

    expect(problems).toEqual([
      'registries.inhouse.username: environment variable REGISTRY_USER is not set',
      'registries.inhouse.password: environment variable REGISTRY_PASSWORD is not set',
      'digest.channel: environment variable DIGEST_CHANNEL is not set',
    ]);
  });

  it('names a key defined twice, with both lines', () => {
    const problems = problemsOf(base(`${SERVICES}\n${SERVICES}`));

    expect(problems).toEqual(['services.api: defined twice (lines 9 and 15)']);
  });

  it('suggests the key that was probably meant for an unknown key', () => {
    const problems = problemsOf(base(SERVICES.replace('approval: prod', 'aproval: prod')));

    expect(problems).toEqual([
      'services.api.environments.production: unknown key "aproval" (did you mean "approval"?) (line 14)',
    ]);
  });

  it('suggests only keys of the target type that was chosen', () => {
    const problems = problemsOf(base(SERVICES.replace('cluster: prod', 'clustr: prod')));

    expect(problems).toContainEqual(expect.stringMatching(/target: unknown key "clustr" \(did you mean "cluster"\?\)/));
    expect(problems).toContainEqual(expect.stringMatching(/target\.cluster: missing \(expected string\)/));
  });

  it('does not suggest anything for a key that resembles nothing', () => {
    const problems = problemsOf(base(SERVICES, 'colour: blue'));

    expect(problems).toEqual(['(top level): unknown key "colour" (line 15)']);
  });

  it('names an unknown registry and the ones defined', () => {
    const problems = problemsOf(base(SERVICES.replace('registry: ecr', 'registry: dockerhub')));

    expect(problems).toEqual(['services.api.image.registry: unknown registry "dockerhub" (defined: ecr) (line 10)']);
  });

  it('names an unknown approval policy', () => {
    const problems = problemsOf(base(SERVICES.replace('approval: prod', 'approval: production')));

    expect(problems[0]).toMatch(
      /^services\.api\.environments\.production\.approval: unknown approval policy "production" \(defined: prod\)/,
    );
  });

  it('rejects a cron expression that does not parse', () => {
    const problems = problemsOf(base(`${SERVICES}\n    watch: { health: "every 5 minutes" }`));

    expect(problems[0]).toMatch(/^services\.api\.watch\.health: expected a cron expression .*, got "every 5 minutes"/);
  });

  it('rejects a duration without a unit', () => {
    const problems = problemsOf(base(SERVICES.replace('approval: prod', 'approval: prod\n        rolloutTimeout: 30')));

    expect(problems[0]).toMatch(
      /^services\.api\.environments\.production\.rolloutTimeout: expected string, got number/,
    );
    expect(
      problemsOf(base().replace('approvers: ["U0123ABCD"]', 'approvers: ["U0123ABCD"], expiresAfter: soon')),
    ).toEqual([
      expect.stringMatching(
        /^approvals\.prod\.expiresAfter: expected a duration such as 30s, 15m, 2h or 1d, got "soon"/,
      ),
    ]);
  });

  it('asks for a channel when neither the service nor the defaults have one', () => {
    const problems = problemsOf(base().replace('  channel: "#deploys"', '  region: us-east-1'));

    expect(problems[0]).toMatch(
      /^services\.api\.channel: no channel: set services\.<name>\.channel or defaults\.channel/,
    );
  });

  it('reports a missing key of a required section', () => {
    const problems = problemsOf(base(SERVICES, 'digest: { schedule: "0 9 * * 1-5" }'));

    expect(problems).toEqual([expect.stringMatching(/^digest\.channel: missing \(expected string\)/)]);
  });

  it('shows array indexes in brackets', () => {
    const problems = problemsOf(base().replace('approvers: ["U0123ABCD"]', 'approvers: ["U0123ABCD", "bob"]'));

    expect(problems[0]).toMatch(/^approvals\.prod\.approvers\[1\]: expected a Slack user id/);
  });

  it('reports the closest form of a union, not just that none matched', () => {
    const problems = problemsOf(
      base(SERVICES.replace('    image:', '    source: { git: "git@x:a.git", branch: main }\n    image:')),
    );

    expect(problems[0]).toMatch(/^services\.api\.source: unknown key "branch"/);
  });

  it('reports a YAML syntax error with its line and column', () => {
    const problems = problemsOf('services:\n  api: { environments: [staging }\n');

    expect(problems[0]).toMatch(/^line 2, column \d+: /);
  });

  it('reports an alias to an anchor that does not exist', () => {
    expect(problemsOf(base(SERVICES, 'digest: *nothing'))).toEqual([
      expect.stringMatching(/Unresolved alias.*nothing/),
    ]);
  });

  it('resolves anchors and merge keys, interpolating the shared values', () => {
    const services = `  api:
    environments:
      staging:
        target: &ecs { type: ecs, cluster: "\${CLUSTER}", service: api, container: app }
      production:
        target: { <<: *ecs, service: api-prod }`;
    const config = parseConfig(base(services), { env: { CLUSTER: 'main' } });

    expect(config.services.api?.environments.production?.target).toEqual({
      type: 'ecs',
      cluster: 'main',
      service: 'api-prod',
      container: 'app',
    });
  });

  it('rejects an empty file', () => {
    expect(problemsOf('# nothing here\n')).toEqual(['the file is empty: see dockhand.example.yml']);
  });

  it('puts the file name and the number of problems in the message', () => {
    const error = errorOf(base(SERVICES, 'colour: blue\nflavour: red'));

    expect(error.message).toMatch(/^test\.yml: 2 problems\n {2}\(top level\): unknown key "colour"/);
  });
});

describe('${NAME} interpolation', () => {
  const withChannel = (channel: string): string => base().replace('"#deploys"', JSON.stringify(channel));

  it('replaces variables in any string value', () => {
    const config = parseConfig(withChannel('#${TEAM}-deploys'), { env: { TEAM: 'core' } });

    expect(config.defaults.channel).toBe('#core-deploys');
  });

  it('treats $${ as a literal ${', () => {
    const source = '    source: { path: ".", buildArgs: { GREETING: "$${HOME} is $$5 and ${WHO}" } }';
    const services = `  api:\n${source}\n${SERVICES.slice('  api:\n'.length)}`;
    const config = parseConfig(base(services), { env: { WHO: 'me', HOME: '/root' } });

    expect(config.services.api?.source?.buildArgs).toEqual({ GREETING: '${HOME} is $$5 and me' });
  });

  it('uses the default of ${NAME:-default} when the variable is unset or empty', () => {
    expect(parseConfig(withChannel('${CHANNEL:-#fallback}'), { env: {} }).defaults.channel).toBe('#fallback');
    expect(parseConfig(withChannel('${CHANNEL:-#fallback}'), { env: { CHANNEL: '' } }).defaults.channel).toBe(
      '#fallback',
    );
    expect(parseConfig(withChannel('${CHANNEL:-#fallback}'), { env: { CHANNEL: '#set' } }).defaults.channel).toBe(
      '#set',
    );
  });

  it('rejects a reference that is not a variable name', () => {
    expect(problemsOf(withChannel('#${team name}'))[0]).toMatch(
      /^defaults\.channel: "\$\{team name\}" is not a variable/,
    );
    expect(problemsOf(withChannel('#${TEAM'))[0]).toMatch(/^defaults\.channel: "\$\{" is not closed/);
  });

  it('does not interpolate keys', () => {
    expect(problemsOf(base(SERVICES, '"${X}": 1'), { X: 'digest' })[0]).toMatch(/unknown key "\$\{X\}"/);
  });
});

describe('secrets', () => {
  const secret = 'hunter2!s3cret/VALUE';
  const registry = (field: string): string =>
    base(SERVICES).replace('ecr: { type: ecr }', `ecr: { type: ecr }\n  inhouse: { type: registry, ${field} }`);

  it('never shows a value that came from the environment, only the variable name', () => {
    const error = errorOf(registry('address: "${REGISTRY_PASSWORD}"'), { REGISTRY_PASSWORD: secret });

    expect(error.message).not.toContain(secret);
    expect(error.message).toMatch(
      /registries\.inhouse\.address: expected host\[:port\].*the value of \$\{REGISTRY_PASSWORD\}/,
    );
  });

  it('does not show the value when a secret is used where a number is expected', () => {
    const error = errorOf(
      base(
        SERVICES.replace('approval: prod', 'approval: prod\n        scale: { min: 1, max: "${REGISTRY_PASSWORD}" }'),
      ),
      { REGISTRY_PASSWORD: secret },
    );

    expect(error.message).toMatch(/scale\.max: expected number, got string/);
    expect(error.message).not.toContain(secret);
  });

  it('never shows a password when a missing variable is reported next to it', () => {
    const error = errorOf(
      registry('address: "r:5000", username: "${REGISTRY_USER}", password: "${REGISTRY_PASSWORD}"'),
      {
        REGISTRY_PASSWORD: secret,
      },
    );

    expect(error.problems).toEqual(['registries.inhouse.username: environment variable REGISTRY_USER is not set']);
    expect(error.message).not.toContain(secret);
  });
});

describe('dockhand check-config', () => {
  const run = (args: string[], env: Env = {}) =>
    spawnSync(process.execPath, ['bin/dockhand.ts', ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...env },
    });

  it('prints a summary and exits 0 for a valid file', () => {
    const result = run(['check-config', EXAMPLE], exampleEnv);

    expect(result.stdout).toBe('✓ dockhand.example.yml: 2 services, 4 environments\n');
    expect(result.status).toBe(0);
  });

  it('reads DOCKHAND_CONFIG when no file is given', () => {
    const result = run(['check-config'], { DOCKHAND_CONFIG: `${FIXTURES}/minimal.yml` });

    expect(result.stdout).toBe(`✓ ${FIXTURES}/minimal.yml: 1 service, 1 environment\n`);
    expect(result.status).toBe(0);
  });

  it('prints every problem to stderr and exits 1 for an invalid file', () => {
    const result = run(['check-config', `${FIXTURES}/invalid.yml`]);

    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('invalid.yml: 2 problems');
    expect(result.stderr).toContain('services.api.environments.production.scale.max: expected number, got string');
    expect(result.stderr).toContain('unknown key "aproval" (did you mean "approval"?)');
  });

  it('reports a YAML syntax error and exits 1', () => {
    // Written here, not kept as a fixture: the linter would reject a broken YAML file in the tree.
    const file = join(mkdtempSync(join(tmpdir(), 'dockhand-')), 'dockhand.yml');
    writeFileSync(file, 'services:\n  api:\n    environments: [staging\n  web: {}\n');
    const result = run(['check-config', file]);

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/line \d+, column \d+:/);
  });

  it('names the missing variables of the example without showing the ones that are set', () => {
    const result = run(['check-config', EXAMPLE], { REGISTRY_USER: 'deployer' });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('environment variable REGISTRY_PASSWORD is not set');
    expect(result.stderr).not.toContain('REGISTRY_USER');
  });

  it('exits 1 with the path it tried when the file does not exist', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dockhand-'));
    const result = run(['check-config', join(dir, 'missing.yml')]);

    expect(result.status).toBe(1);
    expect(result.stderr).toContain(join(dir, 'missing.yml'));
    expect(result.stderr).toContain('DOCKHAND_CONFIG');
  });

  it('never prints a secret from the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dockhand-'));
    const file = join(dir, 'dockhand.yml');
    writeFileSync(
      file,
      base(SERVICES).replace('ecr: { type: ecr }', 'ecr: { type: ecr, registryId: "${REGISTRY_PASSWORD}" }'),
    );
    const result = run(['check-config', file], { REGISTRY_PASSWORD: 'correct-horse-battery' });

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('registries.ecr.registryId');
    expect(result.stderr).not.toContain('correct-horse-battery');
  });

  it('prints the usage: exit 0 for help, 2 for an unknown command', () => {
    const help = run(['help']);
    const unknown = run(['deploy']);

    expect(help.status).toBe(0);
    expect(help.stdout).toContain('Usage: dockhand');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "deploy"');
    expect(unknown.stderr).toContain('check-config [file]');
  });

  it('prints the usage for check-config --help instead of reading a file called --help', () => {
    for (const flag of ['--help', '-h']) {
      const help = run(['check-config', flag]);

      expect(help.status).toBe(0);
      expect(help.stdout).toContain('check-config [file]');
      expect(help.stderr).toBe('');
    }
  });

  it('refuses an unknown check-config option with the usage, exit 2', () => {
    const result = run(['check-config', '--strict']);

    expect(result.status).toBe(2);
    expect(result.stderr).toContain('unknown option "--strict"');
    expect(result.stderr).toContain('check-config [file]');
    expect(result.stderr).not.toContain('no config file');
  });
});
