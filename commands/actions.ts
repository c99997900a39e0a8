import type { App, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { type DeploymentService, Refusal } from '../src/core/deploy/service.ts';
import { asDockhandError } from '../src/errors.ts';
import { ACTIONS } from '../src/slack/actions.ts';
import { afterWaitingRequests, errorText } from './boundary.ts';
import type { CommandDeps } from './deps.ts';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

/**
 * The card buttons. Each acknowledges first, then acts; a refusal (not an approver, self-approval, expired…)
 * goes to the clicker alone and changes nothing.
 */
export const registerActions = (app: App, deps: CommandDeps & { deployments: DeploymentService }): void => {
  const { deployments } = deps;
  const handle =
    (name: string, act: (id: string, user: string) => Promise<unknown>) =>
    async ({ ack, body, action, respond }: ButtonArgs) => {
      await ack();
      await afterWaitingRequests();
      await deps.acksSent?.();
      const log = deps.logger.child({ action: name, user: body.user.id, deployment: action.value });
      let outcome = 'ok';
      const work = (async () => {
        try {
          const result = await act(action.value ?? '', body.user.id);
          if (
            result &&
            typeof result === 'object' &&
            'result' in result &&
            result.result === 'refused' &&
            'message' in result
          ) {
            outcome = 'refused';
            await respond({
              response_type: 'ephemeral',
              replace_original: false,
              text: `:no_entry: ${String(result.message)}`,
            });
          }
        } catch (e) {
          const error = asDockhandError(e);
          outcome = e instanceof Refusal ? 'refused' : 'error';
          deps.metrics.errors.inc({ code: error.code });
          if (outcome === 'error') log.error({ err: e }, 'button action failed');
          else log.info({ reason: error.message }, 'button click refused');
          await respond({
            response_type: 'ephemeral',
            replace_original: false,
            text: e instanceof Refusal ? `:no_entry: ${error.message}` : errorText(error),
          }).catch((err: unknown) => log.warn({ err }, 'could not tell the clicker'));
        } finally {
          deps.metrics.actions.inc({ action: name, outcome });
          await deps.store
            .appendAudit({
              at: deps.clock.now(),
              actor: body.user.id,
              action: `click.${name}`,
              subject: action.value,
              outcome,
            })
            .catch((err: unknown) => log.error({ err }, 'could not write the audit event'));
        }
      })();
      await deps.track(work);
    };
  const buttons: [string, (id: string, user: string) => Promise<unknown>][] = [
    [ACTIONS.approve, (id, user) => deployments.approve(id, user)],
    [ACTIONS.reject, (id, user) => deployments.reject(id, user)],
    [ACTIONS.cancel, (id, user) => deployments.reject(id, user)],
    [ACTIONS.abort, (id, user) => deployments.abort(id, user)],
    [ACTIONS.rollback, (id, user) => deployments.rollbackOf(id, user)],
  ];
  for (const [actionId, act] of buttons) app.action<BlockAction<ButtonAction>>(actionId, handle(actionId, act));
};
