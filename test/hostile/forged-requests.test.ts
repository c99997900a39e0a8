import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../src/ports.ts';
import { createPrng, type Prng } from '../support/fake-aws/prng.ts';
import { signSlackRequest, TEST_SIGNING_SECRET } from '../support/slack/index.ts';
import { A, awsCallCount, B, type Hostile, M, sleep, startHostile } from './harness.ts';

/**
 * Requests nobody signed, or signed for something else, sent to dockhand as a process: none may be processed
 * (no Slack post or reply, no AWS call, no audit event), and each gets the status that says why. Then signed
 * clicks whose button values are forged: refused to the clicker, nothing changes. Seeded, so a failure is
 * reproducible; the figures are printed.
 */
const SEED = Number(process.env.DOCKHAND_HOSTILE_SEED ?? 0xf0_4e_d5);
const ROUNDS = 50;

const COMMANDS = [
  ['/deploy', 'api image:1.2.0 to production'],
  ['/deploy', 'api --restart in staging'],
  ['/scale', 'api 7 in staging'],
  ['/rollback', 'api in staging'],
  ['/status', 'api'],
  ['/logs', 'api since 5m grep ERROR'],
  ['/dockhand', 'lock api in production'],
  ['/dockhand', 'unlock api in production'],
] as const;

const FORM = 'application/x-www-form-urlencoded';

interface Forged {
  kind: string;
  body: string | Uint8Array;
  headers: Record<string, string>;
  expect: number;
  method?: string;
}

describe('hostile: forged and malformed Slack requests against dockhand as a process', () => {
  let h: Hostile;
  let pendingId: string;
  let finishedId: string;

  const deploys = () => h.slack.state.resolveChannel('#deploys')?.id ?? '';
  const commandBody = (prng: Prng) => {
    const [command, text] = COMMANDS[prng.int(COMMANDS.length)] ?? COMMANDS[0];
    return new URLSearchParams({
      token: 'emulator-verification-token',
      team_id: h.slack.state.team.id,
      team_domain: h.slack.state.team.domain,
      channel_id: deploys(),
      channel_name: 'deploys',
      user_id: [A, B, M][prng.int(3)] ?? A,
      user_name: 'someone',
      command,
      text,
      api_app_id: h.slack.state.bot.appId,
      response_url: h.slack.state.responseUrlFor(h.slack.state.createResponseUrl({ channel: deploys(), user: B })),
      trigger_id: h.slack.state.issueTriggerId(),
    }).toString();
  };
  /** B approving the pending deployment: the click an attacker would most like to forge. */
  const approveBody = (value = pendingId, user = B) =>
    new URLSearchParams({
      payload: JSON.stringify({
        type: 'block_actions',
        user: { id: user, username: 'bob', name: 'bob', team_id: h.slack.state.team.id },
        api_app_id: h.slack.state.bot.appId,
        token: 'emulator-verification-token',
        container: { type: 'message', message_ts: '1.000001', channel_id: 'C0DEPLOYS', is_ephemeral: false },
        trigger_id: h.slack.state.issueTriggerId(),
        team: { id: h.slack.state.team.id, domain: h.slack.state.team.domain },
        channel: { id: 'C0DEPLOYS', name: 'deploys' },
        response_url: h.slack.state.responseUrlFor(h.slack.state.createResponseUrl({ channel: deploys(), user })),
        actions: [
          { action_id: 'approval.approve', block_id: 'b', type: 'button', value, action_ts: String(Date.now() / 1000) },
        ],
      }),
    }).toString();
  const now = () => Math.floor(Date.now() / 1000);
  const signed = (body: string, ts = now(), secret = TEST_SIGNING_SECRET) => signSlackRequest(secret, body, ts);

  /** One forged request of each kind per round, its details drawn from the PRNG. */
  const forge = (prng: Prng): Forged[] => {
    const body = prng.int(2) === 0 ? commandBody(prng) : approveBody();
    const other = prng.int(2) === 0 ? commandBody(prng) : approveBody();
    const skew = 301 + prng.int(86_400);
    const original = signed(body);
    const form = { 'content-type': FORM };
    return [
      { kind: 'wrong secret', body, headers: { ...form, ...signed(body, now(), `wrong-${prng.hex(8)}`) }, expect: 401 },
      { kind: 'no signature headers', body, headers: form, expect: 401 },
      {
        kind: 'timestamp only',
        body,
        headers: { ...form, 'x-slack-request-timestamp': String(now()) },
        expect: 401,
      },
      {
        kind: 'signature only',
        body,
        headers: { ...form, 'x-slack-signature': original['x-slack-signature'] },
        expect: 401,
      },
      { kind: 'stale timestamp', body, headers: { ...form, ...signed(body, now() - skew) }, expect: 401 },
      { kind: 'future timestamp', body, headers: { ...form, ...signed(body, now() + skew) }, expect: 401 },
      {
        kind: 'garbage signature',
        body,
        headers: {
          ...form,
          'x-slack-request-timestamp': String(now()),
          'x-slack-signature': ['', 'v0=', `v0=${prng.hex(64)}`, `v1=${prng.hex(64)}`, prng.hex(70)][prng.int(5)] ?? '',
        },
        expect: 401,
      },
      { kind: 'signature over another body', body: other, headers: { ...form, ...original }, expect: 401 },
      {
        kind: 'replay with a modified body',
        body: body.replace(/text=[^&]*/, 'text=api+image%3A1.1.0+to+production').replace(/U0MALLORY/g, B) + '&x=1',
        headers: { ...form, ...original },
        expect: 401,
      },
      {
        kind: 'ssl_check smuggling a command',
        body: `ssl_check=1&${body}`,
        headers: form,
        expect: 200, // answered as Slack's SSL check (unsigned, as Slack sends it); the command reaches nothing
      },
      { kind: 'GET instead of POST', body: '', headers: form, expect: 405, method: 'GET' },
    ];
  };

  /** Signed by Slack's secret, but not something Slack sends: refused before any listener runs. */
  const signedButMalformed = (prng: Prng): Forged[] => {
    const body = commandBody(prng);
    const json = (payload: string) => `payload=${encodeURIComponent(payload)}`;
    const truncated = approveBody();
    const bad = [
      json('{"type":"block_actions","actions":['),
      json('not json at all'),
      json(decodeURIComponent(truncated.slice('payload='.length)).slice(0, 10 + prng.int(200))),
    ][prng.int(3)] as string;
    const contentType = ['text/plain', 'application/json', `${FORM}; charset=utf-8`, 'multipart/form-data'][
      prng.int(4)
    ] as string;
    return [
      { kind: 'malformed payload JSON', body: bad, headers: { 'content-type': FORM, ...signed(bad) }, expect: 400 },
      { kind: 'wrong content type', body, headers: { 'content-type': contentType, ...signed(body) }, expect: 400 },
    ];
  };

  const send = async (f: Forged): Promise<number> => {
    const res = await fetch(h.dockhand.eventsUrl, {
      method: f.method ?? 'POST',
      headers: f.headers,
      ...(f.method === 'GET' ? {} : { body: f.body }),
    });
    await res.arrayBuffer();
    return res.status;
  };

  beforeAll(async () => {
    h = await startHostile();
    // One decided deployment (B rejected it) and one waiting for B's approval.
    const asked = (seq: number) =>
      h.card(
        (m) =>
          m.text.startsWith(`Deploy api → production #${seq}`) && JSON.stringify(m.blocks).includes('approval.approve'),
      );
    await h.client.slashCommand({ command: '/deploy', text: 'api image:1.1.0 to production', userId: A });
    await h.client.clickButton({ message: await asked(1), actionId: 'approval.reject', userId: B });
    await h.card((m) => m.text.startsWith('Deploy api → production #1') && m.text.includes('rejected'));
    await h.client.slashCommand({ command: '/deploy', text: 'api image:1.2.0 to production', userId: A });
    await asked(2);
    const [pending, finished] = await h.withStore(async (store) => [
      (await store.listDeployments({ states: ['awaiting_approval'] }))[0],
      (await store.listDeployments({ states: ['rejected'] }))[0],
    ]);
    if (!pending || !finished) throw new Error('setup: no pending or finished deployment');
    pendingId = pending.id;
    finishedId = finished.id;
  }, 60_000);

  afterAll(async () => {
    await h?.close();
  });

  it('refuses every unsigned, mis-signed, stale, replayed or malformed request with its status, processing none', async () => {
    const prng = createPrng(SEED);
    await sleep(300); // let the setup's card updates settle
    const auditBefore = (await h.audit()).length;
    const slackBefore = h.slack.state.calls().length;
    h.aws.resetCalls();
    const forged: Forged[] = [];
    for (let round = 0; round < ROUNDS; round++) forged.push(...forge(prng), ...signedButMalformed(prng));
    const oversized = `${commandBody(prng)}&pad=${'x'.repeat(4 * 1024 * 1024 + 1)}`;
    forged.push(
      { kind: 'oversized body', body: oversized, headers: { 'content-type': FORM }, expect: 401 },
      { kind: 'oversized body', body: oversized, headers: { 'content-type': FORM, ...signed(oversized) }, expect: 413 },
    );

    const wrong: string[] = [];
    const byKind = new Map<string, number>();
    for (let i = 0; i < forged.length; i += 8) {
      await Promise.all(
        forged.slice(i, i + 8).map(async (f) => {
          const status = await send(f);
          byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
          if (status !== f.expect) wrong.push(`${f.kind}: ${status}, expected ${f.expect}`);
        }),
      );
    }
    await sleep(500); // anything processed after the acknowledgement would show by now
    const audit = (await h.audit()).slice(auditBefore);
    const slackCalls = h.slack.state.calls().slice(slackBefore);
    const awsCalls = awsCallCount(h.aws);
    const processed = audit.length + slackCalls.length + awsCalls;
    console.log(
      `forged requests (seed ${SEED}): ${forged.length} tried, ${processed} processed, ${wrong.length} wrong statuses; ` +
        [...byKind].map(([k, n]) => `${k} ×${n}`).join(', '),
    );
    expect(wrong).toEqual([]);
    expect(audit.map((e) => `${e.action} ${e.subject}`)).toEqual([]);
    expect(slackCalls.map((c) => c.method)).toEqual([]);
    expect(awsCalls).toBe(0);
    expect(await h.withStore((s) => s.getDeployment(pendingId))).toMatchObject({ state: 'awaiting_approval' });
    expect(await h.health()).toBe(200);
  }, 60_000);

  it('answers 400 to a signed body that parses to null, and stays up', async () => {
    // Bolt's HTTPReceiver reads `body.ssl_check` outside its error handling: `payload=null` used to kill the process.
    const bodies: [string, string][] = [
      [FORM, 'payload=null'],
      [FORM, `payload=${encodeURIComponent(' null ')}`],
      // percent-encoded, in either case, key and value: still `null` once decoded
      [FORM, 'team_id=T1&payload=%6E%75%6c%6c'],
      [FORM, 'team_id=T1&p%61yload=%6E%75%6C%6C'],
      ['application/json', 'null'],
    ];
    const statuses: number[] = [];
    for (const [contentType, body] of bodies) {
      const res = await fetch(h.dockhand.eventsUrl, {
        method: 'POST',
        headers: { 'content-type': contentType, ...signed(body) },
        body,
      });
      await res.text();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([400, 400, 400, 400, 400]);
    expect(h.dockhand.child.exitCode).toBeNull();
    expect(await h.health()).toBe(200);
  });

  it('survives signed payloads that lack their parts, changing nothing', async () => {
    const auditBefore = (await h.audit()).length;
    h.aws.resetCalls();
    const user = { id: B, username: 'bob', team_id: h.slack.state.team.id };
    const payloads: unknown[] = [
      { type: 'block_actions' },
      { type: 'block_actions', actions: [] },
      { type: 'block_actions', user, actions: [{ action_id: 'approval.approve' }] },
      { type: 'block_actions', user, actions: [{ action_id: 'approval.approve', value: { id: pendingId } }] },
      { type: 'block_actions', user, actions: [{ action_id: 'deploy.abort', value: 42 }], response_url: 'x' },
      { type: 'block_actions', user: { id: 42 }, actions: [{ action_id: 'approval.reject', value: pendingId }] },
      { type: 'view_submission' },
      { type: 'shortcut' },
      { type: 'url_verification', challenge: '<!channel>' },
      { type: 'event_callback', event: { type: 'app_mention', text: '<!channel>' } },
      [],
      42,
      'block_actions',
    ];
    const bodies = [
      ...payloads.map((p) => `payload=${encodeURIComponent(JSON.stringify(p))}`),
      'command=%2Fdeploy&text=api+image%3A1.2.0+to+production',
      'command=%2Fdeploy&text=api+image%3A1.2.0+to+production&user_id=U0BOB',
      'command=%2Fnope&text=x&user_id=U0BOB',
      'text=hello',
      '',
    ];
    const statuses = await Promise.all(
      bodies.map(async (body) => {
        const res = await fetch(h.dockhand.eventsUrl, {
          method: 'POST',
          headers: { 'content-type': FORM, ...signed(body) },
          body,
        });
        await res.text();
        return res.status;
      }),
    );
    await sleep(500);
    const changed = (await h.audit()).slice(auditBefore).filter((e) => e.action.startsWith('deployment.'));
    console.log(
      `signed payloads missing their parts: ${bodies.length} tried, ${changed.length} state changes, ` +
        `${awsCallCount(h.aws)} AWS calls, statuses ${[...new Set(statuses)].sort().join('/')}`,
    );
    // Bolt answers these 200, 404 (nothing acknowledged them) or 500 (a listener could not read them): not asserted.
    expect(h.dockhand.child.exitCode).toBeNull();
    expect(await h.health()).toBe(200);
    expect(changed).toEqual([]);
    expect(awsCallCount(h.aws)).toBe(0);
    expect(await h.withStore((s) => s.getDeployment(pendingId))).toMatchObject({ state: 'awaiting_approval' });
  });

  it('refuses signed clicks whose button value is forged, to the clicker alone, changing nothing', async () => {
    const prng = createPrng(SEED + 1);
    const auditBefore = (await h.audit()).length;
    h.aws.resetCalls();
    const values = [
      () => crypto.randomUUID(), // a deployment nobody made
      () => '',
      () => `${pendingId}' OR '1'='1`,
      () => pendingId.toUpperCase(),
      () => `${pendingId} `,
      () => 'x'.repeat(1 + prng.int(5000)),
      () => finishedId, // another deployment: already decided
      () => '../../etc/passwd',
      () => '<!channel>',
    ];
    const clicks: { value: string; user: string }[] = [];
    for (let i = 0; i < 60; i++) clicks.push({ value: (values[i % values.length] as () => string)(), user: B });
    // the real id, but clicked by someone who is not an approver, or by the requester
    for (let i = 0; i < 10; i++) clicks.push({ value: pendingId, user: i % 2 === 0 ? M : A });

    const statuses: number[] = [];
    for (const click of clicks) {
      const body = approveBody(click.value, click.user);
      const res = await fetch(h.dockhand.eventsUrl, {
        method: 'POST',
        headers: { 'content-type': FORM, ...signed(body) },
        body,
      });
      await res.text();
      statuses.push(res.status);
    }
    const refused = await h.slack.state.waitFor(
      (s) => {
        const replies = s.calls('response_url').filter((c) => c.seq > 0 && String(c.args.text).includes(':no_entry:'));
        return replies.length >= clicks.length ? replies : undefined;
      },
      20_000,
      'a refusal per forged click',
    );
    const audit: AuditEvent[] = (await h.audit()).slice(auditBefore);
    const changed = audit.filter((e) => !e.action.startsWith('click.'));
    const notRefused = audit.filter((e) => e.action.startsWith('click.') && e.outcome !== 'refused');
    console.log(
      `forged button values (seed ${SEED + 1}): ${clicks.length} tried, ${changed.length + notRefused.length} processed, ` +
        `${refused.length} refusals shown, ${awsCallCount(h.aws)} AWS calls`,
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    for (const r of refused) expect(r.args.response_type ?? 'ephemeral').toBe('ephemeral');
    expect(notRefused).toEqual([]);
    expect(changed.map((e) => e.action)).toEqual([]);
    expect(awsCallCount(h.aws)).toBe(0);
    expect(await h.withStore((s) => s.getDeployment(pendingId))).toMatchObject({ state: 'awaiting_approval' });
    expect(await h.withStore((s) => s.getDeployment(finishedId))).toMatchObject({ state: 'rejected' });
  }, 60_000);
});
