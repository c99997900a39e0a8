// Block Kit and mrkdwn → HTML strings for the local console. Pure functions (no DOM), shared by the page and
// the unit tests. Everything that comes from a message is escaped; the only tags in the output are ours.

// Slack's shortcodes for the emoji dockhand itself writes (test/unit/console-render.test.ts scans the source and
// fails when one is missing here), plus a few people often type in a reason. An unknown shortcode stays as typed.
// A full table (emoji-datasource, Slack's own data) would be ~1 MB the page must load, for names dockhand never
// sends.
const EMOJI = {
  no_entry: '⛔',
  white_check_mark: '✅',
  warning: '⚠️',
  red_circle: '🔴',
  page_facing_up: '📄',
  leftwards_arrow_with_hook: '↩️',
  large_green_circle: '🟢',
  large_orange_circle: '🟠',
  large_blue_circle: '🔵',
  white_circle: '⚪',
  rocket: '🚀',
  raised_hand: '✋',
  package: '📦',
  octagonal_sign: '🛑',
  no_entry_sign: '🚫',
  memo: '📝',
  lock: '🔒',
  unlock: '🔓',
  hourglass_flowing_sand: '⏳',
  hourglass: '⌛',
  heavy_multiplication_x: '✖️',
  hammer_and_wrench: '🛠️',
  globe_with_meridians: '🌐',
  mag: '🔍',
  information_source: 'ℹ️',
  x: '❌',
  tada: '🎉',
  // The Docker-host rollout steps.
  arrow_down: '⬇️',
  pause_button: '⏸️',
  arrow_forward: '▶️',
  stethoscope: '🩺',
  wastebasket: '🗑️',
  // Freezes and break-glass.
  snowflake: '❄️',
  sunny: '☀️',
  rotating_light: '🚨',
  grey_question: '❔',
  // Often typed in a lock or freeze reason.
  '+1': '👍',
  thumbsup: '👍',
  '-1': '👎',
  heavy_check_mark: '✔️',
  fire: '🔥',
  eyes: '👀',
  bug: '🐛',
  construction: '🚧',
  sparkles: '✨',
};

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(value) {
  return String(value ?? '')
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Slack escapes only &, < and > in message text; this undoes that before we escape for HTML. */
function decodeSlack(text) {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
}

const emoji = (html) =>
  html.replace(/:([a-z0-9_+-]+):/g, (all, name) => (Object.hasOwn(EMOJI, name) ? EMOJI[name] : all));

function safeUrl(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : undefined;
}

/** One `<…>` token: a link, a mention, a channel, a user group, a date or a special mention. */
function renderToken(inner, ctx) {
  const [target = '', ...rest] = inner.split('|');
  const label = rest.length > 0 ? decodeSlack(rest.join('|')) : undefined;
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const name = ctx.users?.[id] ?? label ?? id;
    return `<span class="mention">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith('#')) return `<span class="mention">#${escapeHtml(label ?? target.slice(1))}</span>`;
  if (target.startsWith('!subteam^')) {
    const id = target.slice('!subteam^'.length);
    const handle = ctx.groups?.[id] ?? label?.replace(/^@/, '') ?? id;
    return `<span class="mention">@${escapeHtml(handle)}</span>`;
  }
  if (target.startsWith('!date^')) return `<time>${escapeHtml(label ?? '')}</time>`;
  if (target.startsWith('!')) return `<span class="mention">@${escapeHtml(label ?? target.slice(1))}</span>`;
  const href = safeUrl(decodeSlack(target));
  const text = label ?? decodeSlack(target);
  if (!href) return escapeHtml(`<${decodeSlack(inner)}>`);
  return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${escapeHtml(text)}</a>`;
}

/** Inline mrkdwn: `code`, <tokens>, *bold*, _italic_, ~strike~, :emoji:, line breaks. */
function renderInline(text, ctx) {
  const slots = [];
  const slot = (html) => `\uE000${slots.push(html) - 1}\uE000`;
  let s = text.replaceAll('\uE000', '');
  s = s.replace(/`([^`\n]+)`/g, (_, code) => slot(`<code>${escapeHtml(decodeSlack(code))}</code>`));
  s = s.replace(/<([^<>\n]+)>/g, (_, inner) => slot(renderToken(inner, ctx)));
  let html = escapeHtml(decodeSlack(s));
  html = html.replace(/(^|[^\w*])\*([^*\n]+)\*(?![\w*])/g, '$1<strong>$2</strong>');
  html = html.replace(/(^|[^\w_])_([^_\n]+)_(?![\w_])/g, '$1<em>$2</em>');
  html = html.replace(/(^|[^\w~])~([^~\n]+)~(?![\w~])/g, '$1<del>$2</del>');
  html = emoji(html).replaceAll('\n', '<br>');
  return html.replace(/\uE000(\d+)\uE000/g, (_, i) => slots[Number(i)] ?? '');
}

/**
 * Slack mrkdwn → HTML. `ctx.users` maps user ids to names and `ctx.groups` user-group ids to handles, so that
 * mentions read as @name.
 */
export function renderMrkdwn(text, ctx = {}) {
  const source = String(text ?? '');
  const out = [];
  const fence = /```([\s\S]*?)```/g;
  let last = 0;
  for (let m = fence.exec(source); m !== null; m = fence.exec(source)) {
    out.push(renderInline(source.slice(last, m.index), ctx));
    const code = (m[1] ?? '').replace(/^\n/, '');
    out.push(`<pre class="code">${escapeHtml(decodeSlack(code))}</pre>`);
    last = fence.lastIndex;
  }
  out.push(renderInline(source.slice(last), ctx));
  return out.join('');
}

/** A text object: mrkdwn or plain_text (with :emoji: when asked). */
export function renderText(obj, ctx = {}) {
  if (!obj || typeof obj !== 'object') return '';
  if (obj.type === 'mrkdwn') return renderMrkdwn(obj.text, ctx);
  const plain = escapeHtml(obj.text).replaceAll('\n', '<br>');
  return obj.emoji === false ? plain : emoji(plain);
}

const unknown = (what) => `<div class="bk-unknown">Unsupported ${escapeHtml(what)}</div>`;

function renderElement(el, where, ctx) {
  if (el?.type === 'button') {
    const style = el.style === 'primary' || el.style === 'danger' ? ` ${el.style}` : '';
    return (
      `<button type="button" class="bk-button${style}" data-action="${escapeHtml(el.action_id)}"` +
      ` data-where="${escapeHtml(where)}">${renderText(el.text, ctx)}</button>`
    );
  }
  if (el?.type === 'image') return `<span class="bk-image">[image: ${escapeHtml(el.alt_text)}]</span>`;
  return unknown(`element: ${el?.type ?? 'none'}`);
}

function renderBlock(block, index, ctx) {
  switch (block?.type) {
    case 'header':
      return `<div class="bk-header">${renderText(block.text, ctx)}</div>`;
    case 'divider':
      return '<hr class="bk-divider">';
    case 'section': {
      const text = block.text ? `<div class="bk-text">${renderText(block.text, ctx)}</div>` : '';
      const fields = Array.isArray(block.fields)
        ? `<div class="bk-fields">${block.fields.map((f) => `<div>${renderText(f, ctx)}</div>`).join('')}</div>`
        : '';
      const accessory = block.accessory
        ? `<div class="bk-accessory">${renderElement(block.accessory, `${index}:accessory`, ctx)}</div>`
        : '';
      return `<div class="bk-section"><div class="bk-body">${text}${fields}</div>${accessory}</div>`;
    }
    case 'context': {
      const items = (block.elements ?? []).map((el) =>
        el?.type === 'image' ? `<span>[${escapeHtml(el.alt_text)}]</span>` : `<span>${renderText(el, ctx)}</span>`,
      );
      return `<div class="bk-context">${items.join('')}</div>`;
    }
    case 'actions': {
      const items = (block.elements ?? []).map((el, i) => renderElement(el, `${index}:${i}`, ctx));
      return `<div class="bk-actions">${items.join('')}</div>`;
    }
    case 'image':
      return `<div class="bk-image">[image: ${escapeHtml(block.alt_text)}]</div>`;
    default:
      return unknown(`block: ${block?.type ?? 'none'}`);
  }
}

/** A message's blocks → HTML; unknown blocks become a visible placeholder, never nothing. */
export function renderBlocks(blocks, ctx = {}) {
  return (blocks ?? []).map((block, i) => renderBlock(block, i, ctx)).join('');
}

/** The element a `data-where` attribute ("<block>:<element>" or "<block>:accessory") points at. */
export function elementAt(blocks, where) {
  const [b, e] = String(where).split(':');
  const block = blocks?.[Number(b)];
  if (!block) return undefined;
  return e === 'accessory' ? block.accessory : block.elements?.[Number(e)];
}
