import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpServer } from '../../src/http/server.ts';
import { slackSignatureCheck } from '../../src/http/slack-signature.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';

const SECRET = 'test-signing-secret-0123456789abcdef';
const FORM = 'application/x-www-form-urlencoded';

/** Slack's v0 signature of these bytes, computed here without the code under test. */
const sign = (body: Buffer | string, ts: string, secret = SECRET) =>
  `v0=${createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`v0:${ts}:`), Buffer.from(body)]))
    .digest('hex')}`;
const nowTs = () => String(Math.floor(Date.now() / 1000));

describe('slackSignatureCheck', () => {
  const check = slackSignatureCheck(SECRET);
  const body = Buffer.from('command=%2Fstatus&text=api');

  it('accepts the signature Slack computes over the timestamp and the body bytes', () => {
    const ts = nowTs();
    expect(check(ts, body, sign(body, ts))).toBe(true);
  });

  it('refuses another secret, another body, another timestamp, another version or a malformed signature', () => {
    const ts = nowTs();
    const good = sign(body, ts);
    expect(check(ts, body, sign(body, ts, 'another-secret'))).toBe(false);
    expect(check(ts, Buffer.from('command=%2Fdeploy&text=api'), good)).toBe(false);
    expect(check(String(Number(ts) - 1), body, good)).toBe(false);
    expect(check(ts, body, good.replace('v0=', 'v1='))).toBe(false);
    expect(check(ts, body, good.toUpperCase().replace('V0=', 'v0='))).toBe(false);
    expect(check(ts, body, good.slice(0, -2))).toBe(false);
    expect(check(ts, body, `${good}00`)).toBe(false);
    expect(check(ts, body, `v0=${'zz'.repeat(32)}`)).toBe(false);
    expect(check(ts, body, '')).toBe(false);
    expect(check(ts, body, undefined)).toBe(false);
  });

  it('signs bytes, not a decoding of them: a body that is not UTF-8 still verifies', () => {
    const ts = nowTs();
    const raw = Buffer.from([0x74, 0x65, 0x78, 0x74, 0x3d, 0xff, 0xfe, 0x80]);
    expect(check(ts, raw, sign(raw, ts))).toBe(true);
  });

  it('will not run with an empty secret', () => {
    expect(() => slackSignatureCheck('')).toThrow(/empty/);
  });
});

describe('the HTTP server checks the signature before Slack requests reach Bolt', () => {
  let received: Array<{ rawBody: string }>;
  let url: string;
  let close: () => Promise<void>;

  beforeEach(async () => {
    received = [];
    const server = createHttpServer({
      metrics: createMetrics(),
      logger: createLogger('silent'),
      health: async () => ({ ok: true, checks: {} }),
      signingSecret: SECRET,
      slack: (req, res) => {
        received.push({ rawBody: String((req as IncomingMessage & { rawBody?: Buffer }).rawBody) });
        res.writeHead(200).end('ok');
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
    close = () => new Promise((resolve) => server.close(() => resolve()));
  });
  afterEach(async () => {
    await close();
  });

  const post = async (body: string, headers: Record<string, string>) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': FORM, ...headers }, body });
    return { status: res.status, text: await res.text() };
  };

  it('hands a correctly signed request to Bolt, with its body', async () => {
    const body = 'command=%2Fstatus&text=api';
    const ts = nowTs();
    expect(await post(body, { 'x-slack-request-timestamp': ts, 'x-slack-signature': sign(body, ts) })).toEqual({
      status: 200,
      text: 'ok',
    });
    expect(received).toEqual([{ rawBody: body }]);
  });

  it('answers 401 to a wrong or missing signature, and Bolt never sees the request', async () => {
    const body = 'command=%2Fstatus&text=api';
    const ts = nowTs();
    const wrong = await post(body, { 'x-slack-request-timestamp': ts, 'x-slack-signature': sign(body, ts, 'nope') });
    const missing = await post(body, { 'x-slack-request-timestamp': ts });
    const tampered = await post(`${body}&x=1`, {
      'x-slack-request-timestamp': ts,
      'x-slack-signature': sign(body, ts),
    });
    expect([wrong.status, missing.status, tampered.status]).toEqual([401, 401, 401]);
    expect(wrong.text).toBe('invalid request signature');
    expect(received).toEqual([]);
  });

  it("answers Slack's unsigned SSL check itself, and passes nothing of it on, a smuggled command included", async () => {
    const ts = nowTs();
    // as Slack sends it: no timestamp, no signature
    const plain = await post('ssl_check=1&token=x', {});
    const stamped = await post('ssl_check=1&token=x', { 'x-slack-request-timestamp': ts });
    const smuggling = await post('ssl_check=1&command=%2Fdeploy&text=api+to+production', {});
    expect([plain.status, stamped.status, smuggling.status]).toEqual([200, 200, 200]);
    // without a timestamp, anything but a short SSL check is refused as before
    const notCheck = await post('ssl_check=0&command=%2Fstatus', {});
    const long = await post(`ssl_check=1&pad=${'x'.repeat(2000)}`, {});
    expect([notCheck.status, long.status]).toEqual([401, 401]);
    expect(received).toEqual([]);
  });

  it('refuses forms of the timestamp or signature that Bolt let through', async () => {
    const body = 'command=%2Fstatus&text=api';
    const ts = nowTs();
    // Bolt signed Number(timestamp), so `T.0` matched a signature over `T`; and it split the header at every `=`.
    const decimal = await post(body, { 'x-slack-request-timestamp': `${ts}.0`, 'x-slack-signature': sign(body, ts) });
    const trailing = await post(body, { 'x-slack-request-timestamp': ts, 'x-slack-signature': `${sign(body, ts)}=x` });
    expect([decimal.status, trailing.status]).toEqual([401, 401]);
    expect(received).toEqual([]);
  });

  it('refuses to start with a Slack listener and no signing secret', () => {
    expect(() =>
      createHttpServer({
        metrics: createMetrics(),
        logger: createLogger('silent'),
        health: async () => ({ ok: true, checks: {} }),
        slack: () => {},
      }),
    ).toThrow(/signing secret/);
  });
});
