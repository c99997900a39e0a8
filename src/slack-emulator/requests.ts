/**
 * Sends signed requests to a Bolt app's events URL exactly as Slack does: slash commands (form-encoded) and
 * interactive `block_actions` (form-encoded `payload=<JSON>`), with `X-Slack-Request-Timestamp` and
 * `X-Slack-Signature: v0=HMAC-SHA256(secret, "v0:<ts>:<body>")`. response_url and trigger_id point back
 * at the emulator state so replies and views.open calls are recorded there.
 */
import { createHmac } from 'node:crypto';
import type { Block, EphemeralMessage, ResponseUrlSource, SlackEmulatorState, StoredMessage } from './state.ts';

export interface SignOptions {
  /** Send a signature computed with a wrong secret. */
  badSignature?: boolean;
  /** Shift the request timestamp by this many seconds (negative = stale, positive = future). */
  timestampOffsetSeconds?: number;
  /** Leave out both signature headers. */
  unsigned?: boolean;
}

export interface SlackHttpResult {
  status: number;
  headers: Record<string, string>;
  /** Raw response text. */
  text: string;
  /** Parsed JSON when the response is JSON (e.g. the object given to Bolt's `ack(...)`), else the text. */
  body: unknown;
  /** The response_url sent with the request, if any. */
  responseUrl?: string;
  triggerId?: string;
  durationMs: number;
}

export interface SlackRequestClientOptions {
  /** The app's events URL, e.g. http://127.0.0.1:3000/slack/events */
  url: string;
  signingSecret: string;
  /** Emulator state: issues response URLs / trigger ids, resolves channels, users and messages. */
  state: SlackEmulatorState;
  /** Channel used when a request names none. Default '#deploys'. */
  defaultChannel?: string;
  /** Legacy verification token sent in payloads. Default 'emulator-verification-token'. */
  verificationToken?: string;
  /** Clock in ms (for the signature timestamp). */
  now?: () => number;
}

export interface SlashCommandInput {
  command: string;
  text?: string;
  userId: string;
  /** Channel ID or name. Default: the client's default channel. */
  channel?: string;
  sign?: SignOptions;
}

export type MessageRef = StoredMessage | EphemeralMessage | { channel: string; ts: string; ephemeral?: boolean };

export interface ClickButtonInput {
  message: MessageRef;
  actionId: string;
  /** Disambiguates buttons that share an action_id; also checked against the button's value. */
  value?: string;
  blockId?: string;
  userId: string;
  sign?: SignOptions;
  /** The blocks the clicker's client shows, when older than the message's current ones (a stale card). */
  blocks?: Block[];
}

export interface BlockAction {
  action_id: string;
  block_id: string;
  type: string;
  value?: string;
  text?: unknown;
  style?: string;
  action_ts: string;
}

/** Computes Slack's request signature headers for `rawBody`. */
export function signSlackRequest(
  signingSecret: string,
  rawBody: string,
  timestampSec: number,
): { 'x-slack-request-timestamp': string; 'x-slack-signature': string } {
  const base = `v0:${timestampSec}:${rawBody}`;
  const hex = createHmac('sha256', signingSecret).update(base).digest('hex');
  return { 'x-slack-request-timestamp': String(timestampSec), 'x-slack-signature': `v0=${hex}` };
}

interface FoundButton {
  element: Record<string, unknown>;
  blockId: string;
}

/** Finds interactive elements with `actionId` in blocks (actions elements and section accessories). */
export function findButtons(blocks: Block[], actionId: string): FoundButton[] {
  const found: FoundButton[] = [];
  blocks.forEach((block, i) => {
    const blockId = typeof block.block_id === 'string' ? block.block_id : `emulator-block-${i}`;
    const candidates: unknown[] = [];
    if (Array.isArray(block.elements)) candidates.push(...block.elements);
    if (block.accessory) candidates.push(block.accessory);
    for (const c of candidates) {
      if (typeof c === 'object' && c !== null && (c as Record<string, unknown>).action_id === actionId) {
        found.push({ element: c as Record<string, unknown>, blockId });
      }
    }
  });
  return found;
}

function listActionIds(blocks: Block[]): string[] {
  const ids: string[] = [];
  for (const block of blocks) {
    const els = [...(Array.isArray(block.elements) ? block.elements : []), block.accessory];
    for (const el of els) {
      if (typeof el === 'object' && el !== null) {
        const a = (el as Record<string, unknown>).action_id;
        const v = (el as Record<string, unknown>).value;
        if (typeof a === 'string') ids.push(v === undefined ? a : `${a}(${String(v)})`);
      }
    }
  }
  return ids;
}

export class SlackRequestClient {
  readonly url: string;
  readonly state: SlackEmulatorState;
  private readonly signingSecret: string;
  private readonly defaultChannel: string;
  private readonly verificationToken: string;
  private readonly now: () => number;

  constructor(options: SlackRequestClientOptions) {
    this.url = options.url;
    this.state = options.state;
    this.signingSecret = options.signingSecret;
    this.defaultChannel = options.defaultChannel ?? '#deploys';
    this.verificationToken = options.verificationToken ?? 'emulator-verification-token';
    this.now = options.now ?? Date.now;
  }

  /** POSTs `rawBody` signed (or mis-signed, per `sign`) to the events URL. */
  async post(rawBody: string, contentType: string, sign: SignOptions = {}): Promise<SlackHttpResult> {
    const headers: Record<string, string> = { 'content-type': contentType };
    if (!sign.unsigned) {
      const ts = Math.floor(this.now() / 1000) + Math.trunc(sign.timestampOffsetSeconds ?? 0);
      const secret = sign.badSignature ? `${this.signingSecret}-wrong` : this.signingSecret;
      Object.assign(headers, signSlackRequest(secret, rawBody, ts));
    }
    const started = performance.now();
    const res = await fetch(this.url, { method: 'POST', headers, body: rawBody });
    const text = await res.text();
    const durationMs = performance.now() - started;
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { status: res.status, headers: Object.fromEntries(res.headers.entries()), text, body, durationMs };
  }

  private userFields(userId: string): { id: string; username: string; name: string; team_id: string } {
    const user = this.state.user(userId);
    const name = user?.name ?? userId.toLowerCase();
    return { id: userId, username: name, name, team_id: this.state.team.id };
  }

  /** Sends a slash command as Slack does; the response_url and trigger_id are registered with the emulator. */
  async slashCommand(input: SlashCommandInput): Promise<SlackHttpResult> {
    const channel = this.state.resolveChannel(input.channel ?? this.defaultChannel, true);
    if (!channel) throw new Error(`slashCommand: cannot resolve channel ${input.channel}`);
    const responseUrl = this.state.responseUrlFor(
      this.state.createResponseUrl({ channel: channel.id, user: input.userId }),
    );
    const triggerId = this.state.issueTriggerId(input.userId);
    const command = input.command.startsWith('/') ? input.command : `/${input.command}`;
    const form = new URLSearchParams({
      token: this.verificationToken,
      team_id: this.state.team.id,
      team_domain: this.state.team.domain,
      channel_id: channel.id,
      channel_name: channel.is_im ? 'directmessage' : channel.name,
      user_id: input.userId,
      user_name: this.userFields(input.userId).name,
      command,
      text: input.text ?? '',
      api_app_id: this.state.bot.appId,
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: triggerId,
    });
    const result = await this.post(form.toString(), 'application/x-www-form-urlencoded', input.sign);
    return { ...result, responseUrl, triggerId };
  }

  /** Sends a raw interactive payload (`payload=<JSON>`), signed. */
  sendInteraction(payload: Record<string, unknown>, sign?: SignOptions): Promise<SlackHttpResult> {
    const form = new URLSearchParams({ payload: JSON.stringify(payload) });
    return this.post(form.toString(), 'application/x-www-form-urlencoded', sign);
  }

  /**
   * Clicks a button (any element with that action_id) in a message's current blocks, sending the
   * `block_actions` payload Slack would. Throws if the message or button does not exist.
   */
  async clickButton(input: ClickButtonInput): Promise<SlackHttpResult> {
    const ref = input.message;
    const ephemeral = 'ephemeral' in ref ? ref.ephemeral === true : 'user' in ref && !('bot_id' in ref);
    const channel = this.state.resolveChannel(ref.channel, false);
    if (!channel) throw new Error(`clickButton: unknown channel ${ref.channel}`);
    let current: StoredMessage | EphemeralMessage | undefined;
    if (ephemeral) current = this.state.ephemerals().find((e) => e.channel === channel.id && e.ts === ref.ts);
    else current = this.state.message(channel.id, ref.ts);
    if (!current || current.deleted) {
      throw new Error(`clickButton: no current message ${channel.id}/${ref.ts}\n${this.state.dump()}`);
    }
    // A client may still show an older version of the card (a click on a stale card): `input.blocks` is that view.
    let buttons = findButtons(input.blocks ?? current.blocks, input.actionId);
    if (input.blockId !== undefined) buttons = buttons.filter((b) => b.blockId === input.blockId);
    if (input.value !== undefined) buttons = buttons.filter((b) => b.element.value === input.value);
    const button = buttons[0];
    if (!button) {
      throw new Error(
        `clickButton: no element with action_id "${input.actionId}"` +
          (input.value !== undefined ? ` and value "${input.value}"` : '') +
          ` in ${channel.id}/${ref.ts}; available: ${listActionIds(current.blocks).join(', ') || '(none)'}`,
      );
    }
    const source: ResponseUrlSource = { kind: ephemeral ? 'ephemeral' : 'message', channel: channel.id, ts: ref.ts };
    const responseUrl = this.state.responseUrlFor(
      this.state.createResponseUrl({ channel: channel.id, user: input.userId, source }),
    );
    const triggerId = this.state.issueTriggerId();
    const el = button.element;
    const action: BlockAction = {
      action_id: input.actionId,
      block_id: button.blockId,
      type: typeof el.type === 'string' ? el.type : 'button',
      action_ts: this.state.nextTs(),
    };
    if (typeof el.value === 'string') action.value = el.value;
    if (el.text !== undefined) action.text = el.text;
    if (typeof el.style === 'string') action.style = el.style;
    const user = this.userFields(input.userId);
    const payload: Record<string, unknown> = {
      type: 'block_actions',
      user,
      api_app_id: this.state.bot.appId,
      token: this.verificationToken,
      container: { type: 'message', message_ts: ref.ts, channel_id: channel.id, is_ephemeral: ephemeral },
      trigger_id: triggerId,
      team: { id: this.state.team.id, domain: this.state.team.domain },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: channel.id, name: channel.is_im ? 'directmessage' : channel.name },
      state: { values: {} },
      response_url: responseUrl,
      actions: [action],
    };
    if (!ephemeral) payload.message = { ...this.state.messageJson(current as StoredMessage), subtype: 'bot_message' };
    const result = await this.sendInteraction(payload, input.sign);
    return { ...result, responseUrl, triggerId };
  }

  /**
   * Fills an input of an open view as the user would: a select's option value, checkbox values, or text. An element
   * with `dispatch_action` (a select in an input block with `dispatch_action: true`) sends the `block_actions`
   * payload Slack sends for it, with `container.type: view` and the whole view; otherwise nothing is sent.
   */
  async fillView(input: {
    viewId: string;
    blockId: string;
    value: string | string[];
    userId: string;
    sign?: SignOptions;
  }): Promise<SlackHttpResult | undefined> {
    const view = this.state.view(input.viewId);
    if (!view) throw new Error(`fillView: no open view ${input.viewId}`);
    const { block, element } = inputOf(view, input.blockId);
    const actionId = String(element.action_id);
    const value = stateValue(element, input.value);
    this.state.setViewValue(input.viewId, input.blockId, actionId, value);
    if (block.dispatch_action !== true) return undefined;
    const triggerId = this.state.issueTriggerId(input.userId);
    const { type: _type, ...chosen } = value;
    const payload: Record<string, unknown> = {
      type: 'block_actions',
      user: this.userFields(input.userId),
      api_app_id: this.state.bot.appId,
      token: this.verificationToken,
      container: { type: 'view', view_id: input.viewId },
      trigger_id: triggerId,
      team: { id: this.state.team.id, domain: this.state.team.domain },
      enterprise: null,
      is_enterprise_install: false,
      view: this.viewPayload(view),
      actions: [
        { type: element.type, action_id: actionId, block_id: input.blockId, ...chosen, action_ts: this.state.nextTs() },
      ],
    };
    const result = await this.sendInteraction(payload, input.sign);
    return { ...result, triggerId };
  }

  /**
   * Submits an open view as Slack does (`view_submission` with `view.state.values` holding every input's value,
   * initial values included) and applies the answer: closed, errors shown on its fields, or replaced.
   */
  async submitView(input: {
    viewId: string;
    userId: string;
    sign?: SignOptions;
  }): Promise<SlackHttpResult & { errors?: Record<string, string> | undefined }> {
    const view = this.state.view(input.viewId);
    if (!view) throw new Error(`submitView: no open view ${input.viewId}`);
    const payload: Record<string, unknown> = {
      type: 'view_submission',
      team: { id: this.state.team.id, domain: this.state.team.domain },
      user: this.userFields(input.userId),
      api_app_id: this.state.bot.appId,
      token: this.verificationToken,
      trigger_id: this.state.issueTriggerId(),
      view: this.viewPayload(view),
      response_urls: [],
      is_enterprise_install: false,
      enterprise: null,
    };
    const result = await this.sendInteraction(payload, input.sign);
    const errors = result.status === 200 ? this.state.applyViewResponse(input.viewId, result.body) : undefined;
    return { ...result, errors };
  }

  /** A view as an interaction payload carries it: its state holds every input's current (or initial) value. */
  private viewPayload(view: Record<string, unknown>): Record<string, unknown> {
    const typed = ((view.state as { values?: Record<string, Record<string, unknown>> } | undefined)?.values ??
      {}) as Record<string, Record<string, unknown>>;
    const values: Record<string, Record<string, unknown>> = {};
    for (const block of (Array.isArray(view.blocks) ? view.blocks : []) as ViewBlock[]) {
      if (block.type !== 'input' || !block.element || typeof block.block_id !== 'string') continue;
      const actionId = String(block.element.action_id);
      values[block.block_id] = {
        [actionId]: typed[block.block_id]?.[actionId] ?? stateValue(block.element, undefined),
      };
    }
    const { closed: _closed, errors: _errors, ...rest } = view;
    return { ...rest, state: { values } };
  }
}

type ViewArgs = Record<string, unknown>;
type ViewBlock = { type?: unknown; block_id?: unknown; dispatch_action?: unknown; element?: ViewArgs };

/** The input block of a view with that block_id, and its element. */
function inputOf(view: ViewArgs, blockId: string): { block: ViewBlock; element: ViewArgs } {
  const blocks = (Array.isArray(view.blocks) ? view.blocks : []) as ViewBlock[];
  const block = blocks.find((b) => b.type === 'input' && b.block_id === blockId);
  if (!block?.element) {
    const ids = blocks.filter((b) => b.type === 'input').map((b) => String(b.block_id));
    throw new Error(`no input block "${blockId}" in view ${String(view.id)}; inputs: ${ids.join(', ') || '(none)'}`);
  }
  return { block, element: block.element };
}

type Option = { text: unknown; value: string };
const optionsOf = (element: ViewArgs): Option[] =>
  Array.isArray(element.options) ? (element.options as Option[]) : [];

/** An input's value as `view.state.values` carries it, from what the user chose (or the element's initial value). */
function stateValue(element: ViewArgs, chosen: string | string[] | undefined): Record<string, unknown> {
  const type = String(element.type);
  const pick = (value: string): Option => {
    const found = optionsOf(element).find((o) => o.value === value);
    if (!found) throw new Error(`no option "${value}" in ${String(element.action_id)}`);
    return found;
  };
  if (type === 'static_select') {
    const initial = element.initial_option as Option | undefined;
    const value = typeof chosen === 'string' ? pick(chosen) : (initial ?? null);
    return { type, selected_option: value };
  }
  if (type === 'checkboxes') {
    const values = Array.isArray(chosen) ? chosen.map(pick) : ((element.initial_options as Option[] | undefined) ?? []);
    return { type, selected_options: values };
  }
  const text =
    typeof chosen === 'string' ? chosen : typeof element.initial_value === 'string' ? element.initial_value : null;
  return { type, value: text === '' ? null : text };
}

export function createSlackRequestClient(options: SlackRequestClientOptions): SlackRequestClient {
  return new SlackRequestClient(options);
}
