import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';

const config = (environment: string): string => `
defaults: { channel: "#deploys" }
services:
  api:
    environments:
      production:
        target: { type: ecs, cluster: prod, service: api, container: app }
${environment}`;

const problemsOf = (text: string): readonly string[] => {
  try {
    parseConfig(text, { env: {}, source: 'test.yml' });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected the config to be rejected');
};

describe('windows: and rollbackDuringFreeze: in dockhand.yml', () => {
  it('reads days as ranges or lists and hours as from-to, in a named time zone', () => {
    const parsed = parseConfig(
      config(`        windows:
          timeZone: Europe/Berlin
          open:
            - { days: mon-thu, hours: "09:00-17:00" }
            - { days: [fri, sun], hours: "22:00-02:00" }
            - { days: "fri-mon", hours: "00:00-24:00" }`),
      { env: {}, source: 'test.yml' },
    );
    const env = parsed.services.api?.environments.production;
    expect(env?.windows).toEqual({
      timeZone: 'Europe/Berlin',
      open: [
        { days: ['mon', 'tue', 'wed', 'thu'], from: '09:00', to: '17:00' },
        { days: ['fri', 'sun'], from: '22:00', to: '02:00' },
        { days: ['mon', 'fri', 'sat', 'sun'], from: '00:00', to: '24:00' },
      ],
    });
    expect(env?.rollbackDuringFreeze).toBe(true);
  });

  it('has no windows by default, and rollbackDuringFreeze can forbid rollbacks in a freeze', () => {
    const parsed = parseConfig(config('        rollbackDuringFreeze: false'), { env: {}, source: 'test.yml' });
    expect(parsed.services.api?.environments.production?.windows).toBeUndefined();
    expect(parsed.services.api?.environments.production?.rollbackDuringFreeze).toBe(false);
  });

  it('names the path of an unknown time zone, bad days and bad hours', () => {
    const problems = problemsOf(
      config(`        windows:
          timeZone: Europe/Atlantis
          open:
            - { days: mon-fryday, hours: "09:00-17:00" }
            - { days: mon, hours: "9-5" }
            - { days: mon, hours: "09:00-25:00" }`),
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^services\.api\.environments\.production\.windows\.timeZone: expected an IANA time zone such as "Europe\/Berlin"/,
      ),
      expect.stringMatching(/^services\.api\.environments\.production\.windows\.open\[0\]\.days: expected weekdays/),
      expect.stringMatching(
        /^services\.api\.environments\.production\.windows\.open\[1\]\.hours: expected hours such as "09:00-17:00"/,
      ),
      expect.stringMatching(
        /^services\.api\.environments\.production\.windows\.open\[2\]\.hours: expected two different/,
      ),
    ]);
  });

  it('needs at least one opening', () => {
    expect(problemsOf(config('        windows: { timeZone: UTC, open: [] }'))[0]).toMatch(
      /^services\.api\.environments\.production\.windows\.open: /,
    );
  });
});
