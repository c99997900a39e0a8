import { type DockhandRequest, parseDockhand } from '../src/core/grammar.ts';
import {
  freezeEnvironment,
  listFreezes,
  unfreezeEnvironment,
  windowsByEnvironment,
} from '../src/core/operate/freeze.ts';
import { operationHistory } from '../src/core/operate/history.ts';
import { taskAddresses } from '../src/core/operate/ips.ts';
import { lockService, unlockService } from '../src/core/operate/locks.ts';
import { resolveTarget } from '../src/core/targets.ts';
import { COMMANDS, type CommandName } from '../src/core/usage.ts';
import { Refusal } from '../src/domain/policy.ts';
import type { Directory } from '../src/ports.ts';
import { freezesMessage, frozenMessage, unfrozenMessage } from '../src/slack/blocks/freeze.ts';
import { historyMessage, ipsMessage, lockedMessage, lockLine, unlockedMessage } from '../src/slack/blocks/operate.ts';
import { denialText } from '../src/slack/blocks/refusals.ts';
import { withSnapshotAge } from '../src/slack/blocks/status.ts';
import { code } from '../src/slack/mrkdwn.ts';
import type { CommandArgs, CommandHandler } from './boundary.ts';
import type { CommandDeps } from './deps.ts';

export const helpText = (): string =>
  [
    '*dockhand* builds, approves and rolls out your services. Commands:',
    ...(Object.keys(COMMANDS) as CommandName[]).map(
      // The placeholders (<service>) are escaped: unescaped, Slack would read them as links.
      (name) => `• ${code(`/${name} ${COMMANDS[name].usage}`)} — ${COMMANDS[name].description}`,
    ),
    '`to` and `in` are interchangeable; without one, the service’s first environment is meant.',
  ].join('\n');

export interface DockhandCommandDeps extends CommandDeps {
  directory: Directory;
  /** Names this process in locks. */
  instance: string;
}

/**
 * `/dockhand help | lock | unlock | history | ips`. Lock changes are announced in the channel; the rest is private,
 * and a lock or unlock that cannot be done is a refusal (thrown: the boundary tells the requester alone).
 */
export const dockhandCommand =
  (deps: DockhandCommandDeps): CommandHandler =>
  async ({ command, ack, respond }) => {
    const request = parseDockhand(command.text);
    if (request.sub === 'help') {
      await ack({ response_type: 'ephemeral', text: helpText() });
      return;
    }
    if (request.sub === 'freeze' || request.sub === 'unfreeze') {
      await freezeCommand(deps, request, { command, ack, respond });
      return;
    }
    const target = resolveTarget(deps.config, request.service, request.env);
    const user = command.user_id;
    await ack();
    switch (request.sub) {
      case 'lock': {
        const outcome = await lockService(deps, target, user, request.reason);
        if (outcome.result === 'held') {
          const by = outcome.deployment
            ? ` (deployment #${outcome.deployment.seq}, ${outcome.deployment.state.replace('_', ' ')})`
            : '';
          throw new Refusal(`It is already locked${by}. ${lockLine(outcome.held)}`);
        }
        await respond({
          response_type: 'in_channel',
          ...lockedMessage(target.service, target.environment, outcome.lock),
        });
        return;
      }
      case 'unlock': {
        const outcome = await unlockService(deps, target, user);
        if (outcome.result === 'unlocked') {
          await respond({
            response_type: 'in_channel',
            ...unlockedMessage(target.service, target.environment, user, outcome.lock),
          });
        } else if (outcome.result === 'not_locked') {
          await respond({
            response_type: 'ephemeral',
            text: `${code(target.service)} in ${code(target.environment)} is not locked; nothing changed.`,
          });
        } else {
          throw new Refusal(
            `You cannot unlock ${code(target.service)} in ${code(target.environment)}: ${typeof outcome.reason === 'string' ? outcome.reason : denialText(outcome.reason)} ${lockLine(outcome.lock)}`,
          );
        }
        return;
      }
      case 'history':
        await respond({ response_type: 'ephemeral', ...historyMessage(await operationHistory(deps, target)) });
        return;
      case 'ips': {
        const addresses = await taskAddresses(deps, target);
        const reply = withSnapshotAge(ipsMessage(addresses), addresses.observedAt, deps.clock.now());
        await respond({ response_type: 'ephemeral', ...reply });
        return;
      }
    }
  };

/**
 * `/dockhand freeze` lists the freezes and windows (privately); `freeze <env> …` and `unfreeze <env>` are announced
 * in the channel. Who may is the policy's (mayFreeze): refused privately.
 */
const freezeCommand = async (
  deps: DockhandCommandDeps,
  request: Extract<DockhandRequest, { sub: 'freeze' | 'unfreeze' }>,
  { command, ack, respond }: CommandArgs,
): Promise<void> => {
  const user = command.user_id;
  await ack();
  const windows = windowsByEnvironment(deps.config);
  const zoneOf = (env: string) => windows.find((w) => w.environment === env)?.windows.timeZone;
  if (request.sub === 'unfreeze') {
    const outcome = await unfreezeEnvironment(deps, request.env, user);
    if (outcome.result === 'not_frozen') {
      await respond({ response_type: 'ephemeral', text: `${code(request.env)} is not frozen; nothing changed.` });
    } else {
      await respond({ response_type: 'in_channel', ...unfrozenMessage(outcome.freeze, user) });
    }
    return;
  }
  if (request.env === undefined) {
    await respond({ response_type: 'ephemeral', ...freezesMessage(await listFreezes(deps), windows, zoneOf) });
    return;
  }
  const freeze = await freezeEnvironment(deps, request.env, user, request.end, request.reason);
  await respond({ response_type: 'in_channel', ...frozenMessage(freeze, zoneOf(request.env)) });
};
