import type {
  AllMiddlewareArgs,
  BlockAction,
  RespondArguments,
  RespondFn,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackViewMiddlewareArgs,
  StaticSelectAction,
  ViewResponseAction,
  ViewSubmitAction,
} from '@slack/bolt';
import type { Config } from '../src/config/schema.ts';
import { Refusal } from '../src/domain/policy.ts';
import { asDockhandError, type DockhandError, UsageError } from '../src/errors.ts';
import {
  DEPLOY_MODAL,
  type DeployModalMetadata,
  deployModal,
  deployModalCommandText,
  deployModalMetadata,
  deployModalTarget,
  type ViewStateValues,
} from '../src/slack/blocks/deploy-modal.ts';
import { failureReason } from '../src/slack/replies.ts';
import { atBoundary, type CommandHandler, withBoundary } from './boundary.ts';
import { type DeployCommandDeps, deployCommand } from './deploy.ts';

/**
 * A submission is answered (`response_action`) within Slack's 3 s: a request still at work after this long closes
 * the modal, and what it says later reaches the requester as a private message, like a typed /deploy's.
 */
export const SUBMISSION_ANSWER_MS = 2000;

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
 * An error as a modal field shows it: plain text (no mrkdwn, mentions as @id), with its hint, but not the typed
 * command's usage line: the form is the usage.
 */
export const fieldErrorText = (error: DockhandError): string =>
  `${failureReason(error)}${error.hint && !(error instanceof Refusal) && !(error instanceof UsageError) ? ` ${error.hint}` : ''}`
    .replace(/`/g, '')
    .replace(/<!subteam\^(\w+)>/g, '@$1')
    .replace(/<@(\w+)>/g, '@$1')
    .slice(0, 1000);

const USER_MISTAKES = new Set<DockhandError['code']>(['usage', 'not_found', 'forbidden', 'invalid']);

/**
 * The submission is the typed command it stands for (deployModalCommandText), run by the same handler, parser and
 * policy behind the same boundary. A mistake or refusal found within SUBMISSION_ANSWER_MS is shown on its field
 * (`response_action: errors`) and the modal stays open; a success closes it, and the card appears in the channel.
 */
export const deployModalSubmitted = (deps: DeployCommandDeps) => {
  const handler: CommandHandler = deployCommand(deps);
  return async ({ ack, body, view, client }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    const user = body.user.id;
    const metadata = deployModalMetadata(view.private_metadata);
    const values = view.state.values as ViewStateValues;
    const text = deployModalCommandText(deps.config, values);
    let answered = false;
    let shownInModal = false;
    const answer = async (response?: ViewResponseAction): Promise<void> => {
      if (answered) return;
      answered = true;
      await ack(response);
    };
    // What the typed command says to its requester alone goes to them as a private message in that channel.
    const respond: RespondFn = async (message) => {
      const content: RespondArguments = typeof message === 'string' ? { text: message } : message;
      const { response_type: _type, replace_original: _replace, delete_original: _delete, ...rest } = content;
      if (!shownInModal && metadata?.channel) {
        await client.chat.postEphemeral({ ...rest, channel: metadata.channel, user, text: rest.text ?? '' });
      }
      // What a response_url would have answered: there is none for a view, the message went by the Web API.
      return new Response(null, { status: 200 });
    };
    await atBoundary(
      deps,
      {
        kind: 'command',
        name: '/deploy',
        user,
        context: { command: '/deploy', view: DEPLOY_MODAL.callbackId, user, channel: metadata?.channel },
        audit: { action: 'command', subject: `/deploy ${text}`.trim().slice(0, 500) },
      },
      { ack: () => answer(), respond },
      async (trackedAck) => {
        const deadline = setTimeout(() => void trackedAck().catch(() => {}), SUBMISSION_ANSWER_MS);
        try {
          await handler({
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
            respond,
          });
          clearTimeout(deadline);
          await trackedAck();
        } catch (e) {
          clearTimeout(deadline);
          const error = asDockhandError(e);
          if (!answered && USER_MISTAKES.has(error.code)) {
            shownInModal = true;
            await answer({
              response_action: 'errors',
              errors: { [fieldOf(error, deps.config, values)]: fieldErrorText(error) },
            });
          } else if (!answered) await trackedAck(); // closes the modal; the boundary's reply goes to the requester
          throw e;
        }
      },
    );
  };
};
