// The local console page: shows one channel of the emulated workspace as one person sees it, and sends that
// person's slash commands and button clicks to the console's endpoints. It re-reads the view whenever the
// server says something changed (server-sent events), so cards update live as dockhand edits them.
import { elementAt, escapeHtml, renderBlocks, renderMrkdwn } from './render.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
let me = params.get('user') ?? localStorage.getItem('dockhand.console.user') ?? '';
let channel = params.get('channel') ?? '';
let view;
let active = 0;

async function post(path, body) {
  const res = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}` }));
  $('composer-error').textContent = answer.ok ? '' : answer.error;
  return answer;
}

const time = (ts) => new Date(Number(ts) * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

function renderItem(item, ctx) {
  // What the person typed is plain text, as Slack shows it: no code chip, no formatting.
  if (item.kind === 'typed')
    return `<li class="msg typed">${escapeHtml(item.author)} ran ${escapeHtml(item.text)}</li>`;
  const body = item.blocks?.length
    ? renderBlocks(item.blocks, ctx)
    : `<div class="msg-text">${renderMrkdwn(item.text, ctx)}</div>`;
  const files = (item.files ?? [])
    .map(
      (f) =>
        `<div class="file-name">📄 ${escapeHtml(f.title || f.name)}</div>` +
        (f.content === undefined
          ? `<div class="msg-meta">${escapeHtml(f.size)} bytes</div>`
          : `<pre class="file">${escapeHtml(f.content)}${f.cut ? '\n… (cut)' : ''}</pre>`),
    )
    .join('');
  const ephemeral = item.kind === 'ephemeral';
  return (
    `<li class="msg${ephemeral ? ' ephemeral' : ''}" data-ts="${escapeHtml(item.ts)}" data-kind="${item.kind}">` +
    `<div class="avatar${item.bot ? '' : ' person'}">${escapeHtml(item.author.slice(0, 1).toUpperCase())}</div>` +
    `<div class="msg-main"><div class="msg-meta"><strong>${escapeHtml(item.author)}</strong>` +
    `${item.bot || ephemeral ? '<span class="app-badge">APP</span> ' : ''}${time(item.ts)}` +
    `${item.edited ? ' (edited)' : ''}${ephemeral ? ' · <span class="only-you">Only visible to you</span>' : ''}</div>` +
    `${body}${files}</div></li>`
  );
}

function render() {
  const ctx = { users: view.users, groups: view.groups };
  $('user').innerHTML = view.people
    .map(
      (p) =>
        `<option value="${escapeHtml(p.id)}"${p.id === view.me ? ' selected' : ''}>${escapeHtml(p.realName)}</option>`,
    )
    .join('');
  $('channels').innerHTML = view.channels
    .map(
      (c) =>
        `<li><a href="?channel=${encodeURIComponent(c.id)}" class="${c.id === view.channel.id ? 'current' : ''}">#${escapeHtml(c.name)}</a></li>`,
    )
    .join('');
  $('channel-name').textContent = `#${view.channel.name}`;
  const engine = $('engine');
  engine.hidden = !view.engine || view.engine.ok;
  engine.textContent = view.engine?.message ?? '';
  const timeline = $('timeline');
  const atBottom = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 40;
  timeline.innerHTML = view.timeline.map((item) => renderItem(item, ctx)).join('');
  if (atBottom) timeline.scrollTop = timeline.scrollHeight;
  renderModal();
}

// A modal dockhand opened (views.open), as Slack shows it: its input blocks as a form, each field's error under it.
const inputsOf = (modal) => (modal.blocks ?? []).filter((b) => b.type === 'input' && b.element);
const stateOf = (modal, block) => modal.state?.values?.[block.block_id]?.[block.element.action_id];
function renderField(modal, block) {
  const el = block.element;
  const id = escapeHtml(block.block_id);
  const current = stateOf(modal, block);
  const label = `<label class="modal-label" for="field-${id}">${escapeHtml(block.label?.text ?? '')}${block.optional ? ' <span class="modal-optional">(optional)</span>' : ''}</label>`;
  let control = '';
  if (el.type === 'static_select') {
    const selected = current ? current.selected_option?.value : el.initial_option?.value;
    control =
      `<select id="field-${id}" class="modal-control" data-block="${id}">` +
      (el.options ?? [])
        .map(
          (o) =>
            `<option value="${escapeHtml(o.value)}"${o.value === selected ? ' selected' : ''}>${escapeHtml(o.text?.text ?? o.value)}</option>`,
        )
        .join('') +
      '</select>';
  } else if (el.type === 'checkboxes') {
    const checked = (current ? current.selected_options : (el.initial_options ?? [])).map((o) => o.value);
    control = (el.options ?? [])
      .map(
        (o) =>
          `<label class="modal-check"><input type="checkbox" data-block="${id}" value="${escapeHtml(o.value)}"${checked.includes(o.value) ? ' checked' : ''} /> ${escapeHtml(o.text?.text ?? o.value)}</label>`,
      )
      .join('');
  } else {
    const value = current ? (current.value ?? '') : (el.initial_value ?? '');
    control = `<input type="text" id="field-${id}" class="modal-control" data-block="${id}" value="${escapeHtml(value)}"${el.max_length ? ` maxlength="${Number(el.max_length)}"` : ''} />`;
  }
  const hint = block.hint ? `<div class="modal-hint">${escapeHtml(block.hint.text)}</div>` : '';
  const error = modal.errors?.[block.block_id];
  return `<div class="modal-field">${label}${control}${hint}${error ? `<div class="modal-error" role="alert">${escapeHtml(error)}</div>` : ''}</div>`;
}
function renderModal() {
  const dialog = $('modal');
  const modal = view.modal;
  if (!modal) {
    if (dialog.open) dialog.close();
    delete dialog.dataset.shown;
    return;
  }
  // Re-render only when dockhand changed the view or its errors: not under the user's typing.
  const shown = JSON.stringify([modal.id, modal.hash, modal.errors ?? null]);
  if (dialog.dataset.shown === shown && dialog.open) return;
  dialog.dataset.shown = shown;
  dialog.dataset.view = modal.id;
  $('modal-title').textContent = modal.title?.text ?? '';
  $('modal-submit').textContent = modal.submit?.text ?? 'Submit';
  $('modal-close').textContent = modal.close?.text ?? 'Cancel';
  $('modal-fields').innerHTML = inputsOf(modal)
    .map((block) => renderField(modal, block))
    .join('');
  if (!dialog.open) dialog.showModal();
}
const fieldValue = (blockId) => {
  const controls = [...$('modal-fields').querySelectorAll(`[data-block="${CSS.escape(blockId)}"]`)];
  if (controls[0]?.type === 'checkbox') return controls.filter((c) => c.checked).map((c) => c.value);
  return controls[0]?.value ?? '';
};
$('modal-fields').addEventListener('change', async (event) => {
  const blockId = event.target.dataset?.block;
  const block = inputsOf(view.modal ?? {}).find((b) => b.block_id === blockId);
  // A select that dispatches its action (the service) goes to dockhand at once, as in Slack.
  if (block?.dispatch_action) {
    await post('/console/view', { user: me, viewId: view.modal.id, blockId, value: fieldValue(blockId) });
  }
});
$('modal-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const modal = view.modal;
  if (!modal) return;
  for (const block of inputsOf(modal)) {
    if (block.dispatch_action) continue;
    await post('/console/view', {
      user: me,
      viewId: modal.id,
      blockId: block.block_id,
      value: fieldValue(block.block_id),
    });
  }
  await post('/console/view', { user: me, viewId: modal.id, submit: true });
});
$('modal-close').addEventListener('click', () =>
  post('/console/view', { user: me, viewId: view.modal?.id, close: true }),
);
$('modal').addEventListener('cancel', (event) => {
  event.preventDefault();
  void post('/console/view', { user: me, viewId: view.modal?.id, close: true });
});

let loading;
let again = false;
async function refresh() {
  if (loading) {
    again = true;
    return loading;
  }
  loading = (async () => {
    do {
      again = false;
      const res = await fetch(`/console/state?user=${encodeURIComponent(me)}&channel=${encodeURIComponent(channel)}`);
      view = await res.json();
      me = view.me;
      channel = view.channel.id;
      render();
    } while (again);
  })().finally(() => {
    loading = undefined;
  });
  return loading;
}

// A button's confirm dialog, as Slack shows it: title, text, and the confirm/deny labels. Resolves true on confirm.
function confirmDialog(confirm) {
  const dialog = $('confirm');
  $('confirm-title').textContent = confirm.title?.text ?? 'Are you sure?';
  $('confirm-text').textContent = confirm.text?.text ?? '';
  $('confirm-ok').textContent = confirm.confirm?.text ?? 'Yes';
  $('confirm-ok').className = confirm.style === 'danger' ? 'danger' : 'primary';
  $('confirm-deny').textContent = confirm.deny?.text ?? 'Cancel';
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) =>
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), { once: true }),
  );
}

$('timeline').addEventListener('click', async (event) => {
  const button = event.target.closest('button.bk-button');
  if (!button) return;
  const li = button.closest('li.msg');
  const item = view.timeline.find((i) => i.ts === li.dataset.ts && i.kind === li.dataset.kind);
  const element = elementAt(item?.blocks, button.dataset.where);
  if (!item || !element) return;
  if (element.confirm && !(await confirmDialog(element.confirm))) return;
  await post('/console/click', {
    user: me,
    channel,
    ts: item.ts,
    ephemeral: item.kind === 'ephemeral',
    actionId: element.action_id,
    value: element.value,
  });
});

$('user').addEventListener('change', (event) => {
  me = event.target.value;
  localStorage.setItem('dockhand.console.user', me);
  void refresh();
});

// Composer: the slash commands with their usage hints as suggestions (Tab or click to complete).
const input = $('command');
function suggestions() {
  const typed = input.value.trim();
  if (!typed.startsWith('/') || typed.includes(' ') || !view) return [];
  return view.commands.filter((c) => c.command.startsWith(typed.toLowerCase()));
}
function showSuggestions() {
  const list = suggestions();
  active = Math.min(active, Math.max(list.length - 1, 0));
  $('suggestions').hidden = list.length === 0;
  $('suggestions').innerHTML = list
    .map(
      (c, i) =>
        `<li data-command="${escapeHtml(c.command)}" class="${i === active ? 'active' : ''}">` +
        `<strong>${escapeHtml(c.command)}</strong> ${escapeHtml(c.usage)}<span>${escapeHtml(c.description)}</span></li>`,
    )
    .join('');
}
// The composer grows with what is typed (long input wraps instead of scrolling out of sight), up to its CSS
// max-height; beyond that it scrolls.
function fitComposer() {
  input.style.height = 'auto';
  input.style.height = `${input.scrollHeight + input.offsetHeight - input.clientHeight}px`;
}
function complete(command) {
  input.value = `${command} `;
  input.focus();
  fitComposer();
  showSuggestions();
}
input.addEventListener('input', () => {
  active = 0;
  fitComposer();
  showSuggestions();
});
input.addEventListener('keydown', (event) => {
  // Enter sends, as in Slack; Shift+Enter is a new line.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('composer').requestSubmit();
    return;
  }
  const list = suggestions();
  if (list.length === 0) return;
  if (event.key === 'Tab') {
    event.preventDefault();
    complete(list[active]?.command ?? list[0].command);
  } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
    event.preventDefault();
    active = (active + (event.key === 'ArrowDown' ? 1 : list.length - 1)) % list.length;
    showSuggestions();
  }
});
$('suggestions').addEventListener('click', (event) => {
  const li = event.target.closest('li');
  if (li) complete(li.dataset.command);
});
$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  $('suggestions').hidden = true;
  const answer = await post('/console/command', { user: me, channel, text });
  if (answer.ok) {
    input.value = '';
    fitComposer();
  }
});

new EventSource('/console/events').addEventListener('change', () => void refresh());
void refresh();
