import type {
  App,
  Middleware,
  SlackAction,
  SlackActionMiddlewareArgs,
  SlackCommandMiddlewareArgs,
  SlackViewAction,
  SlackViewMiddlewareArgs,
} from '@slack/bolt';

type CommandListener = Middleware<SlackCommandMiddlewareArgs>;
type ActionListener = Middleware<SlackActionMiddlewareArgs>;
type ViewListener = Middleware<SlackViewMiddlewareArgs>;

/** What of Bolt's App the routes register on (a test passes a recorder). */
export type ListenerRegistry = Pick<App, 'command' | 'action' | 'view'>;

/** A pattern that matches exactly these names. */
const exactly = (names: Iterable<string>): RegExp =>
  new RegExp(`^(?:${[...names].map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);

/**
 * Every slash command, button and dialog dockhand answers, installed on Bolt as ONE listener per kind that picks the
 * handler by name. Bolt runs the middleware chain of every listener it has for each request it receives, matching
 * or not (App.processEvent), all before the event loop takes the next request: with a listener per command, button
 * and dialog (16) that was ~100 µs of CPU per request, as much as the rest of Bolt's work on it, and in a burst each
 * request's ack waited for that of every request ahead of it (bench:ack). Names not registered match no listener, as
 * before: Bolt leaves them unanswered.
 */
export class SlackRoutes {
  readonly #commands = new Map<string, CommandListener>();
  readonly #actions = new Map<string, ActionListener>();
  readonly #views = new Map<string, ViewListener>();
  #installed = false;

  command(name: string, listener: CommandListener): void {
    this.#add(this.#commands, name, listener);
  }

  action<A extends SlackAction>(actionId: string, listener: Middleware<SlackActionMiddlewareArgs<A>>): void {
    // Bolt gives each listener the action its constraint matched; the action id here picks the only one for it.
    this.#add(this.#actions, actionId, listener as unknown as ActionListener);
  }

  view<V extends SlackViewAction>(callbackId: string, listener: Middleware<SlackViewMiddlewareArgs<V>>): void {
    this.#add(this.#views, callbackId, listener as unknown as ViewListener);
  }

  /** Registers the listeners on Bolt: one for the commands, one for the actions, one for the dialogs. */
  install(app: ListenerRegistry): void {
    // The patterns are made here, of the names registered so far: a later one would silently match nothing.
    if (this.#installed) throw new Error('the Slack routes are installed already');
    this.#installed = true;
    const commands = this.#commands;
    const actions = this.#actions;
    const views = this.#views;
    if (commands.size > 0) {
      app.command(exactly(commands.keys()), (args) => commands.get(args.command.command)?.(args) ?? Promise.resolve());
    }
    if (actions.size > 0) {
      app.action({ action_id: exactly(actions.keys()) }, (args) => {
        const id = 'action_id' in args.action ? args.action.action_id : undefined;
        return (id === undefined ? undefined : actions.get(id)?.(args)) ?? Promise.resolve();
      });
    }
    if (views.size > 0) {
      app.view(exactly(views.keys()), (args) => views.get(args.view.callback_id)?.(args) ?? Promise.resolve());
    }
  }

  #add<L>(routes: Map<string, L>, name: string, listener: L): void {
    if (this.#installed) throw new Error(`${name} registered after the Slack routes were installed`);
    if (routes.has(name)) throw new Error(`two Slack listeners for ${name}`);
    routes.set(name, listener);
  }
}
