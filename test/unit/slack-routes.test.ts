import { App, type Receiver } from '@slack/bolt';
import { describe, expect, it, vi } from 'vitest';
import { registerButtons } from '../../commands/buttons/index.ts';
import { registerCommands, SLASH_COMMANDS } from '../../commands/index.ts';
import { type ListenerRegistry, SlackRoutes } from '../../commands/routes.ts';
import { BOLT_APP_OPTIONS } from '../../src/app.ts';
import { ACTIONS } from '../../src/slack/actions.ts';
import { APPROVAL_REASON_MODAL } from '../../src/slack/blocks/approval-reason.ts';
import { DEPLOY_MODAL } from '../../src/slack/blocks/deploy-modal.ts';

/** Records what would be registered on Bolt. */
const recorder = () => {
  const calls = { command: [] as unknown[], action: [] as unknown[], view: [] as unknown[] };
  const registry = {
    command: (pattern: unknown) => calls.command.push(pattern),
    action: (constraints: unknown) => calls.action.push(constraints),
    view: (pattern: unknown) => calls.view.push(pattern),
  } as unknown as ListenerRegistry;
  return { calls, registry };
};

/** A Bolt app that receives nothing by itself: the test hands it events (App.processEvent). */
const boltApp = (options: Partial<typeof BOLT_APP_OPTIONS> = BOLT_APP_OPTIONS) => {
  const receiver: Receiver = { init: () => {}, start: async () => undefined, stop: async () => undefined };
  return new App({
    ...options,
    receiver,
    authorize: async () => ({ botToken: 'xoxb-test', botId: 'B1', botUserId: 'U0BOT' }),
    logLevel: undefined,
  });
};

const deliver = async (app: App, body: Record<string, unknown>): Promise<void> => {
  await app.processEvent({ body, ack: async () => {} });
};

const command = (name: string) => ({
  command: name,
  text: 'api',
  user_id: 'U1',
  channel_id: 'C1',
  team_id: 'T1',
  trigger_id: 'trigger',
});
const click = (actionId: string) => ({
  type: 'block_actions',
  team: { id: 'T1' },
  user: { id: 'U1' },
  channel: { id: 'C1' },
  actions: [{ type: 'button', action_id: actionId, block_id: 'b', value: 'd-1', action_ts: '1' }],
});
const submit = (callbackId: string) => ({
  type: 'view_submission',
  team: { id: 'T1' },
  user: { id: 'U1' },
  view: { id: 'V1', callback_id: callbackId, state: { values: {} }, private_metadata: '' },
});

describe('SlackRoutes', () => {
  it("installs dockhand's commands, buttons and dialogs as one Bolt listener per kind", () => {
    // Bolt runs every listener's middleware for every request: one per name cost ~100 µs a request before its ack.
    const routes = new SlackRoutes();
    registerCommands(routes, {} as never);
    registerButtons(routes, {} as never);
    const { calls, registry } = recorder();
    routes.install(registry);

    expect(calls.command).toHaveLength(1);
    expect(calls.action).toHaveLength(1);
    expect(calls.view).toHaveLength(1);
    const commands = calls.command[0] as RegExp;
    for (const name of SLASH_COMMANDS) expect(commands.test(name), name).toBe(true);
    expect(commands.test('/statusx')).toBe(false);
    const actions = (calls.action[0] as { action_id: RegExp }).action_id;
    for (const id of [...Object.values(ACTIONS), DEPLOY_MODAL.service.action]) expect(actions.test(id), id).toBe(true);
    expect(actions.test('approvalXapprove')).toBe(false); // the dot is not a wildcard
    const views = calls.view[0] as RegExp;
    for (const id of [DEPLOY_MODAL.callbackId, APPROVAL_REASON_MODAL.callbackId]) expect(views.test(id), id).toBe(true);
  });

  it('hands each request to the handler registered for its name, through Bolt', async () => {
    const routes = new SlackRoutes();
    const seen: string[] = [];
    routes.command('/status', async ({ command: c }) => void seen.push(`status ${c.text}`));
    routes.command('/scale', async () => void seen.push('scale'));
    routes.action(
      ACTIONS.abort,
      async ({ action }) => void seen.push(`abort ${'value' in action ? action.value : ''}`),
    );
    routes.action(ACTIONS.approve, async () => void seen.push('approve'));
    routes.view(APPROVAL_REASON_MODAL.callbackId, async ({ view }) => void seen.push(`view ${view.id}`));
    const app = boltApp();
    routes.install(app);

    await deliver(app, command('/status'));
    await deliver(app, click(ACTIONS.abort));
    await deliver(app, submit(APPROVAL_REASON_MODAL.callbackId));
    await deliver(app, command('/other'));
    await deliver(app, click('something.else'));
    await deliver(app, submit('other.modal'));

    expect(seen).toEqual(['status api', 'abort d-1', 'view V1']);
  });

  it("runs dockhand's Bolt app without a conversation store, which costs each request a thrown Error", async () => {
    const seen: unknown[] = [];
    for (const app of [boltApp({}), boltApp()]) {
      const routes = new SlackRoutes();
      routes.command('/status', async ({ context }) => void seen.push(typeof context.updateConversation));
      routes.install(app);
      await deliver(app, command('/status'));
    }
    expect(seen).toEqual(['function', 'undefined']); // Bolt's default, then dockhand's options
  });

  it('refuses a handler registered after install, and a second install', () => {
    const routes = new SlackRoutes();
    routes.command('/status', async () => {});
    routes.install(recorder().registry);
    expect(() => routes.command('/scale', async () => {})).toThrow(/\/scale registered after/);
    expect(() => routes.install(recorder().registry)).toThrow(/installed already/);
  });

  it('refuses two handlers for one name', () => {
    const routes = new SlackRoutes();
    const handler = vi.fn(async () => {});
    routes.command('/status', handler);
    expect(() => routes.command('/status', handler)).toThrow(/two Slack listeners for \/status/);
  });
});
