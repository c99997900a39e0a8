import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors.ts';

/** A service built from git, with the given service-level lines and environments. */
const config = (service: string, environments: string) => `
defaults: { channel: "#deploys" }
registries: { ecr: { type: ecr }, hub: { type: registry, address: "registry.example.com" } }
approvals: { prod: { approvers: ["U0123ABCD"] } }
services:
  api:
    source: { git: "git@github.com:acme/api.git" }
${service}    environments:
${environments}`;

const DOCKER = 'target: { type: docker, host: "unix:///var/run/docker.sock", container: api }';
const ECS = 'target: { type: ecs, cluster: prod, service: api, container: app }';

const problemsOf = (text: string): readonly string[] => {
  try {
    parseConfig(text, { env: {}, source: 'test.yml' });
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
};

describe('per-environment images in dockhand.yml: each environment is checked against the image it uses', () => {
  it('accepts a service with a source and no image of its own when every environment has one', () => {
    const text = config(
      '',
      `      staging:\n        ${DOCKER}\n        image: { registry: hub, repository: acme/api }\n` +
        `      production:\n        ${ECS}\n        image: { registry: ecr, repository: acme/api }\n`,
    );
    expect(problemsOf(text)).toEqual([]);
  });

  it('asks the environment without an image for one when the others have theirs and the service has none', () => {
    const text = config(
      '',
      `      staging:\n        ${DOCKER}\n` +
        `      production:\n        ${ECS}\n        image: { registry: ecr, repository: acme/api }\n`,
    );
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(
        /^services\.api\.environments\.staging\.image: .*needs an image: \{ registry, repository \}/,
      ),
    ]);
    expect(problemsOf(config('', `      staging:\n        ${DOCKER}\n`))).toEqual([
      expect.stringMatching(/^services\.api\.image: a service with a source needs an image/),
    ]);
  });

  it('accepts an image on the engine for the service when the ECS environment pulls its own from a registry', () => {
    const text = config(
      '    image: { repository: acme/api }\n',
      `      staging:\n        ${DOCKER}\n` +
        `      production:\n        ${ECS}\n        image: { registry: ecr, repository: acme/api }\n`,
    );
    expect(problemsOf(text)).toEqual([]);
    // An ECS environment that uses the service's engine-only image is still refused.
    const without = config(
      '    image: { repository: acme/api }\n',
      `      staging:\n        ${DOCKER}\n      production:\n        ${ECS}\n`,
    );
    expect(problemsOf(without)).toEqual([
      expect.stringMatching(/^services\.api\.image\.registry: required: environment "production" runs on ECS/),
    ]);
  });

  it('accepts a CI trigger on an environment whose registry comes from its own image', () => {
    const text = config(
      '    image: { repository: acme/api }\n',
      `      staging:\n        ${DOCKER}\n        image: { registry: hub, repository: acme/api }\n` +
        '        trigger: { source: ci, branches: [main], auto: true }\n',
    );
    expect(problemsOf(text)).toEqual([]);
  });

  it('refuses a CI trigger on an environment whose own image has no registry, even when the service has one', () => {
    const text = config(
      '    image: { registry: ecr, repository: acme/api }\n',
      `      staging:\n        ${DOCKER}\n        image: { repository: acme/api }\n` +
        '        trigger: { source: ci, branches: [main], auto: true }\n',
    );
    expect(problemsOf(text)).toEqual([
      expect.stringMatching(
        /^services\.api\.environments\.staging\.trigger\.source: .*services\.api\.environments\.staging\.image\) needs a registry/,
      ),
    ]);
  });
});
