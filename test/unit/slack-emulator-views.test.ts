import { describe, expect, it } from 'vitest';
import { validateModalView } from '../../src/slack-emulator/validation.ts';

describe('the emulator’s modal validation', () => {
  it('refuses what Slack refuses: a long title, inputs without submit, an initial option not among the options', () => {
    const broken = {
      type: 'modal',
      title: { type: 'plain_text', text: 'A title longer than twenty-four' },
      submit: undefined,
      blocks: [
        {
          type: 'input',
          block_id: 'x',
          label: { type: 'plain_text', text: 'X' },
          element: {
            type: 'static_select',
            action_id: 'x',
            options: [{ text: { type: 'plain_text', text: 'a' }, value: 'a' }],
            initial_option: { text: { type: 'plain_text', text: 'b' }, value: 'b' },
          },
        },
      ],
    };
    expect(validateModalView(broken)?.errors).toEqual([
      'must be less than 25 characters [json-pointer:/view/title/text]',
      'a view with input blocks needs a submit button [json-pointer:/view/submit]',
      'must be one of the options [json-pointer:/view/blocks/0/element/initial_option]',
    ]);
  });
});

describe('the emulator’s views', () => {
  it('opens a modal once per trigger, updates it by id and hash, keeps typed values, and applies a submission’s answer', async () => {
    const { SlackEmulatorState } = await import('../../src/slack-emulator/state.ts');
    const state = new SlackEmulatorState();
    const TOKEN = 'xoxb-test-token';
    const input = (id: string, options: string[]) => ({
      type: 'input',
      block_id: id,
      label: { type: 'plain_text', text: id },
      element: {
        type: 'static_select',
        action_id: id,
        options: options.map((o) => ({ text: { type: 'plain_text', text: o }, value: o })),
      },
    });
    const view = (options: string[]) => ({
      type: 'modal',
      callback_id: 'test',
      title: { type: 'plain_text', text: 'Test' },
      submit: { type: 'plain_text', text: 'Go' },
      blocks: [input('a', ['x', 'y']), input('b', options)],
    });
    const opened = await state.invoke('views.open', { trigger_id: state.issueTriggerId(), view: view(['1']) }, TOKEN);
    expect(opened.body).toMatchObject({ ok: true });
    const { id, hash } = (opened.body as { view: { id: string; hash: string } }).view;
    state.setViewValue(id, 'a', 'a', { type: 'static_select', selected_option: { value: 'y' } });
    expect((await state.invoke('views.update', { view_id: id, hash: 'stale', view: view(['2']) }, TOKEN)).body).toEqual(
      {
        ok: false,
        error: 'hash_conflict',
      },
    );
    expect((await state.invoke('views.update', { view_id: 'VNOPE', view: view(['2']) }, TOKEN)).body).toMatchObject({
      error: 'not_found',
    });
    expect((await state.invoke('views.update', { view_id: id, hash, view: view(['2']) }, TOKEN)).body).toMatchObject({
      ok: true,
    });
    expect(state.view(id)?.state).toEqual({
      values: { a: { a: { type: 'static_select', selected_option: { value: 'y' } } } },
    });
    expect(() => state.applyViewResponse(id, { response_action: 'errors', errors: { nope: 'x' } })).toThrow(
      /names no input block: nope/,
    );
    expect(state.applyViewResponse(id, { response_action: 'errors', errors: { b: 'wrong' } })).toEqual({ b: 'wrong' });
    expect(state.view(id)).toBeDefined();
    state.applyViewResponse(id, '');
    expect(state.view(id)).toBe(undefined);
  });
});
