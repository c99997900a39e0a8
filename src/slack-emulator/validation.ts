/**
 * Message content validation with Slack's documented limits.
 *
 * Errors use Slack's codes (`no_text`, `msg_too_long`, `invalid_blocks`, `invalid_blocks_format`,
 * `invalid_attachments`) and, for `invalid_blocks`, an `errors` list in the style of Slack's
 * responses (`... [json-pointer:/blocks/3/text/text]`) so a failing test says which block is wrong.
 */

export type Block = Record<string, unknown>;

export interface ValidationFailure {
  error: string;
  errors?: string[];
}

export const LIMITS = {
  maxBlocks: 50,
  maxTextChars: 40_000,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  markdownBlockText: 12_000,
  actionsElements: 25,
  contextElements: 10,
  buttonText: 75,
  buttonValue: 2000,
  actionId: 255,
  blockId: 255,
  url: 3000,
} as const;

const BLOCK_TYPES = new Set([
  'section',
  'actions',
  'context',
  'divider',
  'header',
  'image',
  'input',
  'file',
  'rich_text',
  'video',
  'markdown',
  'table',
  'context_actions',
]);

const ELEMENT_TYPES = new Set([
  'button',
  'checkboxes',
  'datepicker',
  'datetimepicker',
  'timepicker',
  'image',
  'multi_static_select',
  'multi_external_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'overflow',
  'radio_buttons',
  'plain_text_input',
  'number_input',
  'email_text_input',
  'url_text_input',
  'rich_text_input',
  'workflow_button',
  'file_input',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a `blocks`/`attachments` argument that may arrive as a JSON string (form encoding). */
export function parseJsonArg(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function checkTextObject(
  t: unknown,
  pointer: string,
  errors: string[],
  opts: { max: number; plainOnly?: boolean },
): void {
  if (!isObject(t)) {
    errors.push(`must be a text object [json-pointer:${pointer}]`);
    return;
  }
  const type = t.type;
  if (type !== 'plain_text' && type !== 'mrkdwn') {
    errors.push(`must be one of "plain_text", "mrkdwn" [json-pointer:${pointer}/type]`);
  } else if (opts.plainOnly && type !== 'plain_text') {
    errors.push(`must be "plain_text" [json-pointer:${pointer}/type]`);
  }
  if (typeof t.text !== 'string') {
    errors.push(`must be a string [json-pointer:${pointer}/text]`);
    return;
  }
  if (t.text.length === 0) errors.push(`must be more than 0 characters [json-pointer:${pointer}/text]`);
  if (t.text.length > opts.max)
    errors.push(`must be less than ${opts.max + 1} characters [json-pointer:${pointer}/text]`);
}

function checkElement(el: unknown, pointer: string, errors: string[]): void {
  if (!isObject(el) || typeof el.type !== 'string') {
    errors.push(`must be an element object with a type [json-pointer:${pointer}]`);
    return;
  }
  if (!ELEMENT_TYPES.has(el.type)) {
    errors.push(`unsupported element type "${el.type}" [json-pointer:${pointer}/type]`);
    return;
  }
  if (el.action_id !== undefined && (typeof el.action_id !== 'string' || el.action_id.length > LIMITS.actionId)) {
    errors.push(`must be a string of at most ${LIMITS.actionId} characters [json-pointer:${pointer}/action_id]`);
  }
  if (el.type === 'button') {
    checkTextObject(el.text, `${pointer}/text`, errors, { max: LIMITS.buttonText, plainOnly: true });
    if (el.value !== undefined && (typeof el.value !== 'string' || el.value.length > LIMITS.buttonValue)) {
      errors.push(`must be a string of at most ${LIMITS.buttonValue} characters [json-pointer:${pointer}/value]`);
    }
    if (el.url !== undefined && (typeof el.url !== 'string' || el.url.length > LIMITS.url)) {
      errors.push(`must be a string of at most ${LIMITS.url} characters [json-pointer:${pointer}/url]`);
    }
    if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger') {
      errors.push(`must be one of "primary", "danger" [json-pointer:${pointer}/style]`);
    }
  }
}

function checkBlock(block: unknown, i: number, errors: string[], blockIds: Set<string>): void {
  const p = `/blocks/${i}`;
  if (!isObject(block) || typeof block.type !== 'string') {
    errors.push(`must be a block object with a type [json-pointer:${p}]`);
    return;
  }
  if (!BLOCK_TYPES.has(block.type)) {
    errors.push(`unsupported type "${block.type}" [json-pointer:${p}/type]`);
    return;
  }
  if (block.block_id !== undefined) {
    if (typeof block.block_id !== 'string' || block.block_id.length > LIMITS.blockId) {
      errors.push(`must be a string of at most ${LIMITS.blockId} characters [json-pointer:${p}/block_id]`);
    } else if (blockIds.has(block.block_id)) {
      errors.push(`duplicate block_id "${block.block_id}" [json-pointer:${p}/block_id]`);
    } else {
      blockIds.add(block.block_id);
    }
  }
  switch (block.type) {
    case 'section': {
      if (block.text === undefined && block.fields === undefined && block.expand === undefined) {
        errors.push(`must provide "text" or "fields" [json-pointer:${p}]`);
      }
      if (block.text !== undefined) checkTextObject(block.text, `${p}/text`, errors, { max: LIMITS.sectionText });
      if (block.fields !== undefined) {
        if (!Array.isArray(block.fields)) errors.push(`must be an array [json-pointer:${p}/fields]`);
        else {
          if (block.fields.length > LIMITS.sectionFields) {
            errors.push(`must have at most ${LIMITS.sectionFields} items [json-pointer:${p}/fields]`);
          }
          block.fields.forEach((f, j) => {
            checkTextObject(f, `${p}/fields/${j}`, errors, { max: LIMITS.sectionFieldText });
          });
        }
      }
      if (block.accessory !== undefined) checkElement(block.accessory, `${p}/accessory`, errors);
      break;
    }
    case 'header':
      checkTextObject(block.text, `${p}/text`, errors, { max: LIMITS.headerText, plainOnly: true });
      break;
    case 'markdown':
      if (typeof block.text !== 'string' || block.text.length > LIMITS.markdownBlockText) {
        errors.push(`must be a string of at most ${LIMITS.markdownBlockText} characters [json-pointer:${p}/text]`);
      }
      break;
    case 'actions': {
      const els = block.elements;
      if (!Array.isArray(els) || els.length === 0 || els.length > LIMITS.actionsElements) {
        errors.push(`must be an array of 1 to ${LIMITS.actionsElements} elements [json-pointer:${p}/elements]`);
        break;
      }
      const actionIds = new Set<string>();
      els.forEach((el, j) => {
        checkElement(el, `${p}/elements/${j}`, errors);
        if (isObject(el) && typeof el.action_id === 'string') {
          if (actionIds.has(el.action_id)) {
            errors.push(`duplicate action_id "${el.action_id}" [json-pointer:${p}/elements/${j}/action_id]`);
          }
          actionIds.add(el.action_id);
        }
      });
      break;
    }
    case 'context': {
      const els = block.elements;
      if (!Array.isArray(els) || els.length === 0 || els.length > LIMITS.contextElements) {
        errors.push(`must be an array of 1 to ${LIMITS.contextElements} elements [json-pointer:${p}/elements]`);
        break;
      }
      els.forEach((el, j) => {
        if (!isObject(el)) errors.push(`must be an object [json-pointer:${p}/elements/${j}]`);
        else if (el.type === 'plain_text' || el.type === 'mrkdwn') {
          checkTextObject(el, `${p}/elements/${j}`, errors, { max: LIMITS.sectionText });
        } else if (el.type !== 'image') {
          errors.push(`must be a text or image element [json-pointer:${p}/elements/${j}/type]`);
        }
      });
      break;
    }
    default:
      break;
  }
}

/** Validates a `blocks` value that has already been JSON-parsed. */
export function validateBlocks(blocks: unknown): ValidationFailure | undefined {
  if (!Array.isArray(blocks)) return { error: 'invalid_blocks_format' };
  const errors: string[] = [];
  if (blocks.length > LIMITS.maxBlocks) {
    errors.push(`no more than ${LIMITS.maxBlocks} items allowed [json-pointer:/blocks]`);
  }
  const blockIds = new Set<string>();
  blocks.forEach((b, i) => {
    checkBlock(b, i, errors, blockIds);
  });
  return errors.length > 0 ? { error: 'invalid_blocks', errors } : undefined;
}

export interface MessageContent {
  text?: unknown;
  blocks?: unknown;
  attachments?: unknown;
}

/**
 * Validates message content as chat.postMessage / chat.update / chat.postEphemeral / response_url do.
 * `requireContent`: text, blocks or attachments must be present (`no_text` otherwise).
 */
export function validateMessageContent(args: MessageContent, requireContent = true): ValidationFailure | undefined {
  const text = args.text;
  const hasText = typeof text === 'string' ? text.length > 0 : text !== undefined && text !== null;
  const hasBlocks = Array.isArray(args.blocks) ? args.blocks.length > 0 : args.blocks !== undefined;
  const hasAttachments = Array.isArray(args.attachments) ? args.attachments.length > 0 : args.attachments !== undefined;
  if (requireContent && !hasText && !hasBlocks && !hasAttachments) return { error: 'no_text' };
  if (typeof text === 'string' && text.length > LIMITS.maxTextChars) return { error: 'msg_too_long' };
  if (args.blocks !== undefined) {
    const failure = validateBlocks(args.blocks);
    if (failure) return failure;
  }
  if (args.attachments !== undefined && !Array.isArray(args.attachments)) return { error: 'invalid_attachments' };
  return undefined;
}

/** Slack's documented limits of a modal view (reference/views/modal-views) and of the inputs dockhand puts in one. */
export const VIEW_LIMITS = {
  title: 24,
  button: 24,
  blocks: 100,
  privateMetadata: 3000,
  callbackId: 255,
  inputLabel: 2000,
  inputHint: 2000,
  selectOptions: 100,
  checkboxOptions: 10,
  optionText: 75,
  optionValue: 150,
  plainTextInputLength: 3000,
} as const;

function checkOptions(el: Record<string, unknown>, pointer: string, max: number, errors: string[]): Set<string> {
  const values = new Set<string>();
  if (!Array.isArray(el.options) || el.options.length === 0 || el.options.length > max) {
    errors.push(`must be an array of 1 to ${max} options [json-pointer:${pointer}/options]`);
    return values;
  }
  el.options.forEach((o, k) => {
    const p = `${pointer}/options/${k}`;
    if (!isObject(o)) {
      errors.push(`must be an option object [json-pointer:${p}]`);
      return;
    }
    checkTextObject(o.text, `${p}/text`, errors, { max: VIEW_LIMITS.optionText, plainOnly: el.type !== 'checkboxes' });
    if (typeof o.value !== 'string' || o.value.length === 0 || o.value.length > VIEW_LIMITS.optionValue) {
      errors.push(`must be a string of 1 to ${VIEW_LIMITS.optionValue} characters [json-pointer:${p}/value]`);
    } else values.add(o.value);
  });
  return values;
}

/** The input elements of a modal: options, initial values among them, text lengths. */
function checkInputElement(el: unknown, pointer: string, errors: string[]): void {
  checkElement(el, pointer, errors);
  if (!isObject(el)) return;
  if (el.type === 'static_select') {
    const values = checkOptions(el, pointer, VIEW_LIMITS.selectOptions, errors);
    const initial = el.initial_option;
    if (initial !== undefined && (!isObject(initial) || !values.has(String(initial.value)))) {
      errors.push(`must be one of the options [json-pointer:${pointer}/initial_option]`);
    }
  } else if (el.type === 'checkboxes') {
    const values = checkOptions(el, pointer, VIEW_LIMITS.checkboxOptions, errors);
    if (el.initial_options !== undefined) {
      const initial = Array.isArray(el.initial_options) ? el.initial_options : [undefined];
      if (initial.some((o) => !isObject(o) || !values.has(String(o.value)))) {
        errors.push(`must be among the options [json-pointer:${pointer}/initial_options]`);
      }
    }
  } else if (el.type === 'plain_text_input') {
    const max = el.max_length ?? VIEW_LIMITS.plainTextInputLength;
    if (typeof max !== 'number' || max < 1 || max > VIEW_LIMITS.plainTextInputLength) {
      errors.push(`must be 1 to ${VIEW_LIMITS.plainTextInputLength} [json-pointer:${pointer}/max_length]`);
    }
    if (
      el.initial_value !== undefined &&
      (typeof el.initial_value !== 'string' || el.initial_value.length > Number(max))
    ) {
      errors.push(`must be a string within max_length [json-pointer:${pointer}/initial_value]`);
    }
  }
}

/**
 * Validates a modal view as views.open / views.update do: title, buttons, metadata and callback id within Slack's
 * limits, a submit button when the view has inputs, every block as in a message and every input block's label and
 * element. Errors name the JSON pointer inside the view (`/view/blocks/1/element/options`).
 */
export function validateModalView(view: Record<string, unknown>): ValidationFailure | undefined {
  const errors: string[] = [];
  checkTextObject(view.title, '/view/title', errors, { max: VIEW_LIMITS.title, plainOnly: true });
  for (const button of ['submit', 'close'] as const) {
    if (view[button] !== undefined) {
      checkTextObject(view[button], `/view/${button}`, errors, { max: VIEW_LIMITS.button, plainOnly: true });
    }
  }
  if (
    view.private_metadata !== undefined &&
    (typeof view.private_metadata !== 'string' || view.private_metadata.length > VIEW_LIMITS.privateMetadata)
  ) {
    errors.push(
      `must be a string of at most ${VIEW_LIMITS.privateMetadata} characters [json-pointer:/view/private_metadata]`,
    );
  }
  if (
    view.callback_id !== undefined &&
    (typeof view.callback_id !== 'string' || view.callback_id.length > VIEW_LIMITS.callbackId)
  ) {
    errors.push(`must be a string of at most ${VIEW_LIMITS.callbackId} characters [json-pointer:/view/callback_id]`);
  }
  const blocks = view.blocks;
  if (!Array.isArray(blocks))
    return { error: 'invalid_arguments', errors: ['must be an array [json-pointer:/view/blocks]'] };
  if (blocks.length > VIEW_LIMITS.blocks) {
    errors.push(`no more than ${VIEW_LIMITS.blocks} items allowed [json-pointer:/view/blocks]`);
  }
  const blockIds = new Set<string>();
  blocks.forEach((block, i) => {
    const p = `/view/blocks/${i}`;
    const before = errors.length;
    checkBlock(block, i, errors, blockIds);
    for (let k = before; k < errors.length; k++)
      errors[k] = String(errors[k]).replace('[json-pointer:/blocks/', '[json-pointer:/view/blocks/');
    if (!isObject(block) || block.type !== 'input') return;
    if (view.submit === undefined)
      errors.push(`a view with input blocks needs a submit button [json-pointer:/view/submit]`);
    checkTextObject(block.label, `${p}/label`, errors, { max: VIEW_LIMITS.inputLabel, plainOnly: true });
    if (block.hint !== undefined) {
      checkTextObject(block.hint, `${p}/hint`, errors, { max: VIEW_LIMITS.inputHint, plainOnly: true });
    }
    if (block.element === undefined) errors.push(`must provide an element [json-pointer:${p}/element]`);
    else checkInputElement(block.element, `${p}/element`, errors);
  });
  return errors.length > 0 ? { error: 'invalid_arguments', errors: [...new Set(errors)] } : undefined;
}
