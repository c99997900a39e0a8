import { describe, expect, it } from 'vitest';
import { fieldOf } from '../../commands/deploy-modal.ts';
import { fieldErrorText } from '../../commands/modal-submission.ts';
import { Refusal } from '../../src/domain/policy.ts';
import { DockhandError, UsageError } from '../../src/errors.ts';
import { deployModal, deployModalCommandText, deployModalMetadata } from '../../src/slack/blocks/deploy-modal.ts';
import { validateModalView } from '../../src/slack-emulator/validation.ts';
import { aConfig } from '../support/builders.ts';

const config = aConfig({
  services: {
    api: {
      source: { git: 'https://example.com/acme/api.git', ref: 'release' },
      image: { registry: 'ecr', repository: 'acme/api' },
      environments: {
        staging: { target: { type: 'ecs', cluster: 'staging', service: 'api', container: 'app' } },
        production: { target: { type: 'ecs', cluster: 'prod', service: 'api', container: 'app' }, approval: 'prod' },
      },
    },
    web: {
      environments: { box: { target: { type: 'docker', host: 'ssh://ec2-user@203.0.113.10', container: 'web' } } },
    },
  },
});
const metadata = { channel: 'C0DEPLOYS', channelName: 'deploys' };

/** view.state.values as Slack sends them for these choices. */
const values = (service: string, env: string | undefined, ref: string | null, options: string[] = []) => ({
  deploy_service: { 'deploy.modal.service': { type: 'static_select', selected_option: { value: service } } },
  deploy_environment: {
    'deploy.modal.environment': { type: 'static_select', selected_option: env ? { value: env } : null },
  },
  deploy_ref: { 'deploy.modal.ref': { type: 'plain_text_input', value: ref } },
  deploy_options: {
    'deploy.modal.options': { type: 'checkboxes', selected_options: options.map((value) => ({ value })) },
  },
});

describe('the /deploy modal (golden)', () => {
  it('lists every service, the selected one’s environments and its default ref', async () => {
    await expect(deployModal(config, 'api', metadata)).toMatchFileSnapshot('golden/deploy-modal-api.json');
  });

  it('is rebuilt for another service: its environments only, no ref to fill for a service without git', async () => {
    await expect(deployModal(config, 'web', metadata)).toMatchFileSnapshot('golden/deploy-modal-web.json');
  });

  it('passes Slack’s modal validation (title, submit, inputs, options within Block Kit limits)', () => {
    expect(validateModalView(deployModal(config, 'api', metadata) as unknown as Record<string, unknown>)).toBe(
      undefined,
    );
  });

  it('keeps within the 100 options of a static select and 75-character labels, showing the first service for one past the 100th', () => {
    const many = Object.fromEntries(
      Array.from({ length: 120 }, (_, i) => [
        `svc-${String(i).padStart(3, '0')}-${'x'.repeat(50)}`,
        { environments: { box: { target: { type: 'docker', host: 'ssh://h', container: 'c' } } } },
      ]),
    );
    const view = deployModal(aConfig({ services: many }), 'svc-119', metadata);
    expect(validateModalView(view as unknown as Record<string, unknown>)).toBe(undefined);
    const select = view.blocks[0] as { element: { initial_option: { value: string } } };
    expect(select.element.initial_option.value).toBe(Object.keys(many)[0]);
  });
});

describe('a submission as the typed command it stands for', () => {
  it('is `<service> <ref> to <env>` with the options as flags', () => {
    expect(deployModalCommandText(config, values('api', 'production', 'v1.2.3', ['--dry-run']))).toBe(
      'api v1.2.3 to production --dry-run',
    );
    expect(deployModalCommandText(config, values('api', 'staging', 'image:1.4.0'))).toBe('api image:1.4.0 to staging');
    expect(deployModalCommandText(config, values('web', 'box', null))).toBe('web to box');
  });

  it('drops the default ref on a restart, but keeps another ref for the parser to refuse', () => {
    expect(deployModalCommandText(config, values('api', 'production', 'release', ['--restart']))).toBe(
      'api to production --restart',
    );
    expect(deployModalCommandText(config, values('api', 'production', 'v2', ['--restart']))).toBe(
      'api v2 to production --restart',
    );
  });

  it('ends with --emergency <reason> when a break-glass reason was typed, on one line', () => {
    const reason = (value: string) => ({
      ...values('api', 'production', 'v1.2.3'),
      deploy_emergency: { 'deploy.modal.emergency': { type: 'plain_text_input', value } },
    });
    const withReason = reason(' db down\n  hotfix ');
    expect(deployModalCommandText(config, withReason)).toBe('api v1.2.3 to production --emergency db down hotfix');
    expect(deployModalCommandText(config, reason('   '))).toBe('api v1.2.3 to production');
  });

  it('reads the metadata it was opened with, and nothing from garbage', () => {
    expect(deployModalMetadata(JSON.stringify(metadata))).toEqual(metadata);
    expect(deployModalMetadata('not json')).toBe(undefined);
    expect(deployModalMetadata('{"channel":1}')).toBe(undefined);
  });
});

describe('where a submission’s mistake or refusal is shown', () => {
  const usage = new UsageError('“bad..ref” is not a valid git ref.', '/deploy <service> …');
  it('on the select of a service or environment that is not configured', () => {
    expect(fieldOf(usage, config, values('gone', 'production', null))).toBe('deploy_service');
    expect(fieldOf(usage, config, values('api', 'box', null))).toBe('deploy_environment');
  });
  it('on the environment for a rule’s or a lock’s refusal, on the ref for what the parser refuses', () => {
    expect(fieldOf(new Refusal('locked'), config, values('api', 'production', null))).toBe('deploy_environment');
    expect(fieldOf(usage, config, values('api', 'production', 'bad..ref'))).toBe('deploy_ref');
    expect(fieldOf(new DockhandError('invalid', 'no registry'), config, values('web', 'box', 'image:1'))).toBe(
      'deploy_ref',
    );
  });
  it('as plain text: no code marks, mentions as @id, the hint after the message', () => {
    const error = new DockhandError('not_found', 'There is no service `x` in dockhand.yml.', { hint: 'Known: `api`.' });
    expect(fieldErrorText(error)).toBe('There is no service x in dockhand.yml. Known: api.');
    expect(fieldErrorText(usage), 'the form is the usage: no usage line').toBe('“bad..ref” is not a valid git ref.');
    expect(fieldErrorText(new Refusal('locked by <@U0OPS> and <!subteam^S0LEADS>'))).toBe(
      'locked by @U0OPS and @S0LEADS',
    );
  });
});
