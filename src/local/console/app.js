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
}

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
