import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { elementAt, renderBlocks, renderMrkdwn, renderText } from '../../src/local/console/render.js';

const ctx = { users: { U0DEV: 'dev', U0LEAD: 'lead' }, groups: { S0LEADS: 'leads' } };

describe('the console renders mrkdwn', () => {
  it('formats bold, italic, strike, inline code and emoji', () => {
    expect(renderMrkdwn('*Waiting* for _approval_ ~now~ `api:42` :rocket:', ctx)).toBe(
      '<strong>Waiting</strong> for <em>approval</em> <del>now</del> <code>api:42</code> 🚀',
    );
  });

  it('shows mentions as @name, user groups as @handle and date tokens as their fallback text', () => {
    const html = renderMrkdwn(
      '<@U0DEV> asks <!subteam^S0LEADS> by <!date^1795170600^{date_short}|2026-11-20T10:30:00Z>',
      ctx,
    );
    expect(html).toBe(
      '<span class="mention">@dev</span> asks <span class="mention">@leads</span> by <time>2026-11-20T10:30:00Z</time>',
    );
  });

  it('renders links with their label, and only http(s) and mailto links', () => {
    expect(renderMrkdwn('<https://example.com/a?b=1&amp;c=2|the docs>')).toBe(
      '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" rel="noopener noreferrer">the docs</a>',
    );
    expect(renderMrkdwn('<javascript:alert(1)|click>')).not.toContain('<a');
  });

  it('renders ``` blocks as preformatted text, without formatting inside', () => {
    expect(renderMrkdwn('Logs:\n```*not bold* &lt;tag&gt;\nline 2```')).toBe(
      'Logs:<br><pre class="code">*not bold* &lt;tag&gt;\nline 2</pre>',
    );
  });

  it('escapes everything else, including Slack-escaped angle brackets and raw HTML', () => {
    const html = renderMrkdwn('&lt;img src=x onerror=alert(1)&gt; <b onclick="x">hi</b> "quotes" \'too\'');
    expect(html).not.toMatch(/<img|<b |onclick="/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&quot;quotes&quot; &#39;too&#39;');
  });
});

/** Every `:shortcode:` in dockhand's own source: what its messages and cards can contain. */
const emittedShortcodes = (): Set<string> => {
  const root = new URL('../../', import.meta.url).pathname;
  // The console and the emulator render and relay messages; they do not write them.
  const skip = ['src/local/console', 'src/slack-emulator'];
  const names = new Set<string>();
  for (const top of ['src', 'commands']) {
    for (const file of readdirSync(join(root, top), { recursive: true, encoding: 'utf8' })) {
      const path = `${top}/${file}`;
      if (!/\.(ts|js)$/.test(path) || skip.some((s) => path.startsWith(s))) continue;
      for (const m of readFileSync(join(root, path), 'utf8').matchAll(/(?<![\w:]):([a-z0-9_+-]+):/g)) {
        names.add(m[1] ?? '');
      }
    }
  }
  // SQLite's in-memory database name (`sqlite::memory:`), not an emoji.
  names.delete('memory');
  return names;
};

describe('the console renders emoji shortcodes as Slack does', () => {
  it('renders every shortcode dockhand itself writes as an emoji', () => {
    const names = [...emittedShortcodes()];
    // The scan must find the ones we know of, or it scans nothing.
    expect(names).toEqual(expect.arrayContaining(['stethoscope', 'large_green_circle', 'rocket', 'wastebasket']));
    const missing = names.filter((name) => !/^\p{Extended_Pictographic}/u.test(renderMrkdwn(`:${name}:`)));
    expect(missing).toEqual([]);
  });

  it('leaves an unknown shortcode and a time of day as they are', () => {
    expect(renderMrkdwn(':not_an_emoji_we_know: at 10:30:00')).toBe(':not_an_emoji_we_know: at 10:30:00');
    expect(renderMrkdwn(':constructor: :__proto__:')).toBe(':constructor: :__proto__:');
  });

  it('renders emoji in plain_text unless it says emoji: false', () => {
    expect(renderText({ type: 'plain_text', text: ':stethoscope: health' })).toBe('🩺 health');
    expect(renderText({ type: 'plain_text', text: ':stethoscope: health', emoji: false })).toBe(':stethoscope: health');
  });
});

describe('the console renders the Block Kit dockhand sends', () => {
  const button = (text: string, actionId: string, style?: 'primary' | 'danger') => ({
    type: 'button',
    text: { type: 'plain_text', text },
    action_id: actionId,
    value: 'dep-1',
    ...(style ? { style } : {}),
    confirm: {
      title: { type: 'plain_text', text: `${text}?` },
      text: { type: 'plain_text', text: 'Sure?' },
      confirm: { type: 'plain_text', text },
      deny: { type: 'plain_text', text: 'Go back' },
    },
  });
  const blocks = [
    { type: 'header', text: { type: 'plain_text', text: 'Deploy hello → local #1', emoji: true } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: ':raised_hand: *Waiting for approval*' },
      accessory: button('Cancel', 'deploy.cancel'),
    },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: '*Image*\n`hello:1`' },
        { type: 'plain_text', text: '<b>' },
      ],
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: 'asked by <@U0DEV>' }] },
    { type: 'divider' },
    {
      type: 'actions',
      elements: [button('Approve', 'approval.approve', 'primary'), button('Reject', 'approval.reject', 'danger')],
    },
    { type: 'video', title: { type: 'plain_text', text: 'x' } },
  ];

  it('renders header, section text, fields and accessory, context, divider and styled buttons', () => {
    const html = renderBlocks(blocks, ctx);
    expect(html).toContain('<div class="bk-header">Deploy hello → local #1</div>');
    expect(html).toContain('✋ <strong>Waiting for approval</strong>');
    expect(html).toContain(
      '<div class="bk-fields"><div><strong>Image</strong><br><code>hello:1</code></div><div>&lt;b&gt;</div></div>',
    );
    expect(html).toContain('<div class="bk-context"><span>asked by <span class="mention">@dev</span></span></div>');
    expect(html).toContain('<hr class="bk-divider">');
    expect(html).toContain(
      '<button type="button" class="bk-button primary" data-action="approval.approve" data-where="5:0">Approve</button>',
    );
    expect(html).toContain('class="bk-button danger" data-action="approval.reject" data-where="5:1"');
    expect(html).toContain('data-action="deploy.cancel" data-where="1:accessory"');
  });

  it('shows an unknown block as a visible placeholder instead of dropping it', () => {
    expect(renderBlocks(blocks, ctx)).toContain('<div class="bk-unknown">Unsupported block: video</div>');
  });

  it('finds the clicked element, with its confirm dialog, from its position', () => {
    expect(elementAt(blocks, '5:0')?.action_id).toBe('approval.approve');
    expect(elementAt(blocks, '1:accessory')?.confirm).toMatchObject({ deny: { text: 'Go back' } });
    expect(elementAt(blocks, '9:0')).toBeUndefined();
  });
});
