import type { types } from '@slack/bolt';
import type { Config } from '../../config/schema.ts';

/**
 * The `/deploy` modal (issue 14, item 4): what `/deploy` with no text opens. Its ids are stable: the submission
 * reads the fields by them, and errors are shown on them (`response_action: errors`).
 */
export const DEPLOY_MODAL = {
  callbackId: 'deploy.modal',
  service: { block: 'deploy_service', action: 'deploy.modal.service' },
  environment: { block: 'deploy_environment', action: 'deploy.modal.environment' },
  ref: { block: 'deploy_ref', action: 'deploy.modal.ref' },
  options: { block: 'deploy_options', action: 'deploy.modal.options' },
  emergency: { block: 'deploy_emergency', action: 'deploy.modal.emergency' },
  restart: '--restart',
  dryRun: '--dry-run',
} as const;

export type DeployModalView = types.ModalView;

/** What the modal carries from the trigger to the submission: where `/deploy` was typed. */
export interface DeployModalMetadata {
  channel: string;
  channelName: string;
}

/** Block Kit's limits for a static select (100 options, 75-character labels, 150-character values). */
const MAX_OPTIONS = 100;
const plain = (text: string, max = 75): types.PlainTextElement => ({
  type: 'plain_text',
  text: text.length > max ? `${text.slice(0, max - 1)}…` : text,
});
const option = (name: string): types.PlainTextOption => ({ text: plain(name), value: name });

/** The ref a service deploys when none is given: its configured git ref, if it is built from git. */
const defaultRef = (config: Config, service: string): string | undefined => {
  const source = config.services[service]?.source;
  return source && 'git' in source ? source.ref : undefined;
};

/**
 * The modal for one selected service: its environments in the environment select, its default git ref filled in.
 * Selecting another service dispatches an action, and the modal is rebuilt for it (views.update).
 */
export const deployModal = (config: Config, selected: string, metadata: DeployModalMetadata): DeployModalView => {
  const services = Object.keys(config.services).slice(0, MAX_OPTIONS);
  // A service the select does not offer (gone from the config, past the 100th) shows the first one instead.
  const service = services.includes(selected) ? selected : (services[0] ?? '');
  const environments = Object.keys(config.services[service]?.environments ?? {}).slice(0, MAX_OPTIONS);
  const ref = defaultRef(config, service);
  const firstEnv = environments[0];
  return {
    type: 'modal',
    callback_id: DEPLOY_MODAL.callbackId,
    title: plain('Deploy', 24),
    submit: plain('Deploy', 24),
    close: plain('Cancel', 24),
    private_metadata: JSON.stringify(metadata),
    blocks: [
      {
        type: 'input',
        block_id: DEPLOY_MODAL.service.block,
        dispatch_action: true,
        label: plain('Service'),
        element: {
          type: 'static_select',
          action_id: DEPLOY_MODAL.service.action,
          options: services.map(option),
          ...(services.includes(service) ? { initial_option: option(service) } : {}),
        },
      },
      {
        type: 'input',
        block_id: DEPLOY_MODAL.environment.block,
        label: plain('Environment'),
        element: {
          type: 'static_select',
          action_id: DEPLOY_MODAL.environment.action,
          options: environments.map(option),
          ...(firstEnv === undefined ? {} : { initial_option: option(firstEnv) }),
        },
      },
      {
        type: 'input',
        block_id: DEPLOY_MODAL.ref.block,
        optional: true,
        label: plain('Git ref or image'),
        hint: plain('A branch, tag or commit, or image:<tag> to deploy an existing image.', 150),
        element: {
          type: 'plain_text_input',
          action_id: DEPLOY_MODAL.ref.action,
          max_length: 255,
          ...(ref === undefined ? {} : { initial_value: ref }),
        },
      },
      {
        type: 'input',
        block_id: DEPLOY_MODAL.options.block,
        optional: true,
        label: plain('Options'),
        element: {
          type: 'checkboxes',
          action_id: DEPLOY_MODAL.options.action,
          options: [
            {
              text: plain('Restart what runs (no build)'),
              value: DEPLOY_MODAL.restart,
            },
            { text: plain('Dry run: show the plan only'), value: DEPLOY_MODAL.dryRun },
          ],
        },
      },
      {
        type: 'input',
        block_id: DEPLOY_MODAL.emergency.block,
        optional: true,
        label: plain('Emergency reason (break-glass)'),
        hint: plain(
          'Only during a freeze or outside the deploy windows: the deploy then needs one more approval than usual.',
          150,
        ),
        element: { type: 'plain_text_input', action_id: DEPLOY_MODAL.emergency.action, max_length: 500 },
      },
    ],
  };
};

/** The submitted values of the modal, as Slack sends them in `view.state.values`. */
export type ViewStateValues = Record<string, Record<string, ViewStateValue>>;
export interface ViewStateValue {
  type?: string;
  value?: string | null;
  selected_option?: { value: string } | null;
  selected_options?: { value: string }[];
}

/** The service and environment chosen in a submission. */
export const deployModalTarget = (values: ViewStateValues): { service: string; env: string | undefined } => ({
  service: values[DEPLOY_MODAL.service.block]?.[DEPLOY_MODAL.service.action]?.selected_option?.value ?? '',
  env: values[DEPLOY_MODAL.environment.block]?.[DEPLOY_MODAL.environment.action]?.selected_option?.value,
});

/**
 * The typed command the submission stands for: `<service> [<ref> | image:<tag>] to <env> [--restart] [--dry-run]
 * [--emergency <reason>]` (the reason last: the rest of the text is the reason, as typed).
 * The submission goes through the same parser, resolution and policy as a typed `/deploy` (one code path).
 */
export const deployModalCommandText = (config: Config, values: ViewStateValues): string => {
  const field = (ids: { block: string; action: string }) => values[ids.block]?.[ids.action];
  const { service, env } = deployModalTarget(values);
  const ref = field(DEPLOY_MODAL.ref)?.value?.trim();
  const options = (field(DEPLOY_MODAL.options)?.selected_options ?? []).map((o) => o.value);
  const restart = options.includes(DEPLOY_MODAL.restart);
  const emergency = field(DEPLOY_MODAL.emergency)?.value?.replace(/\s+/g, ' ').trim();
  // A restart redeploys what runs: the default ref the modal filled in is no request for a build (another ref is,
  // and the parser refuses it with --restart as it does for the typed command).
  const givenRef = restart && ref === defaultRef(config, service) ? undefined : ref;
  return [
    service,
    givenRef || undefined,
    env ? `to ${env}` : undefined,
    restart ? DEPLOY_MODAL.restart : undefined,
    options.includes(DEPLOY_MODAL.dryRun) ? DEPLOY_MODAL.dryRun : undefined,
    emergency ? `--emergency ${emergency}` : undefined,
  ]
    .filter((part): part is string => part !== undefined && part !== '')
    .join(' ');
};

/** The metadata the modal was opened with; a view that carries none (or garbage) replies nowhere but to the user. */
export const deployModalMetadata = (raw: string | undefined): DeployModalMetadata | undefined => {
  try {
    const parsed: unknown = JSON.parse(raw ?? '');
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { channel, channelName } = parsed as Record<string, unknown>;
    return typeof channel === 'string' && typeof channelName === 'string' ? { channel, channelName } : undefined;
  } catch {
    return undefined;
  }
};
