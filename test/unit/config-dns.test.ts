/** `watch.publicIps` in both forms, and `dns`: the records that follow a service's public IPs. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { allTargets } from '../../src/core/targets.ts';
import { dnsRecordsOf, publicIpsSchedule } from '../../src/core/watch/dns.ts';
import { ConfigError } from '../../src/errors.ts';

const config = (watch: string, environments = ONE_ENV) => `
defaults: { channel: "#deploys" }
services:
  api:
    environments:
${environments}
    watch: ${watch}
`;
const ONE_ENV = '      production: { target: { type: ecs, cluster: prod, service: api, container: app } }';
const TWO_ENVS = `${ONE_ENV}
      staging: { target: { type: ecs, cluster: stage, service: api, container: app } }
      box: { target: { type: docker, host: "ssh://deploy@box", container: api } }`;

const parse = (text: string) => parseConfig(text, { env: {}, source: 'test.yml' });
const problemsOf = (text: string): readonly string[] => {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected the config to be rejected');
};
const recordsBy = (text: string) =>
  Object.fromEntries(allTargets(parse(text)).map((t) => [t.environment, dnsRecordsOf(t)]));

describe('watch.publicIps', () => {
  it('keeps the string form: a schedule and no records', () => {
    const c = parse(config('{ publicIps: "*/5 * * * *" }'));

    expect(publicIpsSchedule(c.services.api?.watch)).toBe('*/5 * * * *');
    expect(recordsBy(config('{ publicIps: "*/5 * * * *" }'))).toEqual({ production: [] });
  });

  it('reads the object form, normalising the zone and name, TTL 60 by default', () => {
    const text = config(
      '{ publicIps: { schedule: "* * * * *", dns: { zone: /hostedzone/Z0ABC123, name: API.Example.com. } } }',
    );

    expect(publicIpsSchedule(parse(text).services.api?.watch)).toBe('* * * * *');
    expect(recordsBy(text)).toEqual({ production: [{ zone: 'Z0ABC123', name: 'api.example.com', ttl: 60 }] });
  });

  it('requires the environment when the service has more than one on ECS, naming the path', () => {
    const problems = problemsOf(
      config('{ publicIps: { schedule: "* * * * *", dns: { zone: Z0ABC123, name: api.example.com } } }', TWO_ENVS),
    );

    expect(problems).toEqual([
      expect.stringMatching(
        /^services\.api\.watch\.publicIps\.dns\.environment: required: this service has more than one ECS environment \(production, staging\)/,
      ),
    ]);
  });

  it('takes a list of records, one per environment, and names a bad entry by its index', () => {
    const good = config(
      `{ publicIps: { schedule: "* * * * *", dns: [
          { zone: Z0ABC123, name: api.example.com, environment: production, ttl: 30 },
          { zone: Z0ABC123, name: staging.example.com, environment: staging } ] } }`,
      TWO_ENVS,
    );
    expect(recordsBy(good)).toEqual({
      production: [{ zone: 'Z0ABC123', name: 'api.example.com', ttl: 30 }],
      staging: [{ zone: 'Z0ABC123', name: 'staging.example.com', ttl: 60 }],
      box: [],
    });

    const bad = problemsOf(
      config(
        `{ publicIps: { schedule: "* * * * *", dns: [
          { zone: Z0ABC123, name: api.example.com, environment: production },
          { zone: Z0ABC123, name: box.example.com, environment: box },
          { zone: Z0ABC123, name: x.example.com, environment: qa } ] } }`,
        TWO_ENVS,
      ),
    );
    expect(bad).toEqual([
      expect.stringMatching(/^services\.api\.watch\.publicIps\.dns\[1\]\.environment: "box" does not run on ECS/),
      expect.stringMatching(
        /^services\.api\.watch\.publicIps\.dns\[2\]\.environment: "qa" is not an environment of this service/,
      ),
    ]);
  });

  it('rejects a bad zone, name or TTL with its path', () => {
    const problems = problemsOf(
      config('{ publicIps: { schedule: "* * * * *", dns: { zone: example.com, name: "not a name", ttl: -1 } } }'),
    );

    expect(problems).toEqual([
      expect.stringMatching(/^services\.api\.watch\.publicIps\.dns\.zone: expected a Route 53 hosted zone id/),
      expect.stringMatching(/^services\.api\.watch\.publicIps\.dns\.name: expected a DNS name/),
      expect.stringMatching(/^services\.api\.watch\.publicIps\.dns\.ttl: expected at least 0/),
    ]);
  });

  it('rejects an unknown key of the object form and a bad schedule', () => {
    expect(problemsOf(config('{ publicIps: { schedule: "often" } }'))).toEqual([
      expect.stringMatching(/^services\.api\.watch\.publicIps\.schedule: expected a cron expression/),
    ]);
    expect(problemsOf(config('{ publicIps: { schedule: "* * * * *", dsn: {} } }'))).toEqual([
      expect.stringMatching(/^services\.api\.watch\.publicIps: unknown key "dsn" \(did you mean "dns"\?\)/),
    ]);
  });
});

describe('dockhand check-config', () => {
  it('names the record whose environment is missing, with its line, and exits 1', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'dockhand-dns-')), 'dockhand.yml');
    writeFileSync(
      file,
      config('{ publicIps: { schedule: "* * * * *", dns: [ { zone: Z0ABC123, name: api.example.com } ] } }', TWO_ENVS),
    );
    const result = spawnSync(process.execPath, ['bin/dockhand.ts', 'check-config', file], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });

    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/services\.api\.watch\.publicIps\.dns\[0\]\.environment: required: .*\(line \d+\)/);
  });
});
