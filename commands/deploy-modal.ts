import type {
  AllMiddlewareArgs,
  BlockAction,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackViewMiddlewareArgs,
  StaticSelectAction,
  ViewSubmitAction,
} from '@slack/bolt';
import type { Config } from '../src/config/schema.ts';
import { Refusal } from '../src/domain/policy.ts';
import type { DockhandError } from '../src/errors.ts';
import {
  DEPLOY_MODAL,
  type DeployModalMetadata,
  deployModal,
  deployModalCommandText,
  deployModalMetadata,
  deployModalTarget,
  type ViewStateValues,
} from '../src/slack/blocks/deploy-modal.ts';
import { atBoundary, type CommandHandler, withBoundary } from './boundary.ts';
import { type DeployCommandDeps, deployCommand } from './deploy.ts';
import { modalSubmission } from './modal-submission.ts';

/**
 * `/deploy` with no text opens the deploy modal (views.open with the command's trigger_id, right after the ack and
 * before any other work); with text it is the typed command.
 */
export const deployEntry = (deps: DeployCommandDeps) => {
  const typed = withBoundary('/deploy', deps, deployCommand(deps));
  return async (args: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    const { command, ack, respond, client } = args;
    if (command.text.trim() !== '') return typed(args);
    await atBoundary(
      deps,
      {
        kind: 'command',
        name: '/deploy',
        user: command.user_id,
        context: { command: '/deploy', user: command.user_id, channel: command.channel_id },
        audit: { action: 'command', subject: '/deploy (modal)' },
      },
      { ack, respond },
      async (trackedAck) => {
        await trackedAck();
        const first = Object.keys(deps.config.services)[0] ?? '';
        const metadata: DeployModalMetadata = { channel: command.channel_id, channelName: command.channel_name };
        await client.views.open({ trigger_id: command.trigger_id, view: deployModal(deps.config, first, metadata) });
      },
    );
  };
};

/** Selecting a service rebuilds the modal for it: its environments, its default ref (views.update). */
export const deployModalServiceSelected =
  (deps: DeployCommandDeps) =>
  async ({
    ack,
    body,
    action,
    client,
  }: SlackActionMiddlewareArgs<BlockAction<StaticSelectAction>> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const view = body.view;
    if (!view) return;
    const metadata = deployModalMetadata(view.private_metadata) ?? { channel: '', channelName: '' };
    try {
      await client.views.update({
        view_id: view.id,
        hash: view.hash,
        view: deployModal(deps.config, action.selected_option.value, metadata),
      });
    } catch (err) {
      // A hash conflict means the user changed the modal meanwhile; the submission is checked anyway.
      deps.logger.info({ err, user: body.user.id }, 'could not update the deploy modal');
    }
  };

/**
 * Which field of the modal a mistake or refusal belongs to: a service or environment that is not configured (gone
 * from the config since the modal opened, or not chosen) on its select; a rule's or a lock's refusal on the
 * environment, since rules and locks are per service and environment; what the parser refuses of the rest (the ref,
 * the image tag, a ref with --restart) on the ref field.
 */
export const fieldOf = (error: DockhandError, config: Config, values: ViewStateValues): string => {
  const { service, env } = deployModalTarget(values);
  const serviceConfig = Object.hasOwn(config.services, service) ? config.services[service] : undefined;
  if (!serviceConfig) return DEPLOY_MODAL.service.block;
  if (env === undefined || !Object.hasOwn(serviceConfig.environments, env)) return DEPLOY_MODAL.environment.block;
  if (error instanceof Refusal) return DEPLOY_MODAL.environment.block;
  return DEPLOY_MODAL.ref.block;
};

/**
 * The submission is the typed command it stands for (deployModalCommandText), run by the same handler, parser and
 * policy behind the same boundary. A mistake or refusal found within SUBMISSION_ANSWER_MS (modal-submission.ts) is shown on its field
 * (`response_action: errors`) and the modal stays open; a success closes it, and the card appears in the channel.
 */
export const deployModalSubmitted = (deps: DeployCommandDeps) => {
  const handler: CommandHandler = deployCommand(deps);
  return async ({ ack, body, view, client }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const user = body.user.id;
    const metadata = deployModalMetadata(view.private_metadata);
    const values = view.state.values as ViewStateValues;
    const text = deployModalCommandText(deps.config, values);
    const submission = modalSubmission({ ack, client, user, channel: metadata?.channel });
    await atBoundary(
      deps,
      {
        kind: 'command',
        name: '/deploy',
        user,
        context: { command: '/deploy', view: DEPLOY_MODAL.callbackId, user, channel: metadata?.channel },
        audit: { action: 'command', subject: `/deploy ${text}`.trim().slice(0, 500) },
      },
      { ack: () => submission.answer(), respond: submission.respond },
      (trackedAck) =>
        submission.run(
          trackedAck,
          () =>
            handler({
              command: {
                token: '',
                command: '/deploy',
                text,
                response_url: '',
                trigger_id: '',
                user_id: user,
                user_name: body.user.name,
                team_id: body.user.team_id ?? '',
                team_domain: '',
                channel_id: metadata?.channel ?? '',
                channel_name: metadata?.channelName ?? '',
                api_app_id: body.api_app_id,
              },
              // The typed command acks once it has parsed; the modal waits for the request's outcome instead.
              ack: async () => {},
              respond: submission.respond,
            }),
          (error: DockhandError) => fieldOf(error, deps.config, values),
        ),
    );
  };
};
