import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DockhandProcess, removeDir, startDockhand } from '../support/dockhand-process.ts';
import { FakeAws } from '../support/fake-aws/index.ts';
import { type FakeSlack, type StoredMessage, signedClient, startTestSlack } from '../support/slack/index.ts';

/**
 * POST /hooks/ci and POST /hooks/github end to end: dockhand as a process over real HTTP, the fake Slack and the
 * fake AWS (ECR answers DescribeImages, so a CI delivery's image needs no Docker). B approves production.
 */
const B = 'U0BOB';
const REPO = 'acme/api';
const CI_SECRET = 'ci-secret-0123456789abcdef';
const GITHUB_SECRET = 'gh-secret-0123456789abcdef';
const DIGEST = `sha256:${'7'.repeat(64)}`;
const COMMIT = 'a'.repeat(40);

const CONFIG = `
defaults: { channel: "#deploys", region: us-east-1 }
registries:
  ecr: { type: ecr }
approvals:
  prod: { approvers: ["${B}"], required: 1, expiresAfter: 30m }
services:
  api:
    source: { git: "git@github.com:acme/api.git", ref: main }
    image: { registry: ecr, repository: ${REPO} }
    deployers: ["U0SOMEONE"]
    environments:
      staging:
        target: { type: ecs, cluster: staging, service: api, container: app }
        trigger: { source: ci, branches: [main], auto: true }
      production:
        target: { type: ecs, cluster: prod, service: api, container: app }
        approval: prod
        trigger: { source: ci, branches: [main, release], auto: true }
      qa:
        target: { type: ecs, cluster: qa, service: api, container: app }
`;

const ciBody = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({
    service: 'api',
    environment: 'staging',
    image: '1.4.2',
    commit: COMMIT,
    branch: 'main',
    buildUrl: 'https://ci.example.com/acme/api/builds/41',
    ...overrides,
  });

describe('dockhand as a process: deploy hooks (POST /hooks/ci, POST /hooks/github)', () => {
  const aws = new FakeAws();
  let slack: FakeSlack;
  let dockhand: DockhandProcess;
  let client: ReturnType<typeof signedClient>;

  const card = (predicate: (m: StoredMessage) => boolean, timeoutMs = 30_000) =>
    slack.state.waitForMessage((m) => m.blocks.length > 0 && predicate(m), timeoutMs);
  const post = async (path: string, body: string, headers: Record<string, string>) => {
    const res = await fetch(`${dockhand.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  /** The scheme README.md documents: HMAC-SHA256 over `<timestamp>.<body>`. */
  const signCi = (body: string, ts = Math.floor(Date.now() / 1000), secret = CI_SECRET) => ({
    'x-dockhand-timestamp': String(ts),
    'x-dockhand-signature': `sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`,
  });
  const postCi = (body: string, headers = signCi(body)) => post('/hooks/ci', body, headers);
  const updatesIn = (cluster: string) =>
    aws.requestsFor('ECS.UpdateService').filter((u) => (u.input as { cluster: string }).cluster === cluster);

  beforeAll(async () => {
    const { url } = await aws.start();
    for (const cluster of ['staging', 'prod', 'qa']) {
      aws.seedService({
        cluster,
        service: 'api',
        family: `api-${cluster}`,
        desiredCount: 1,
        containers: [{ name: 'app', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:1.0.0' }],
      });
    }
    aws.putImage(REPO, '1.4.2', `sha256:${'4'.repeat(64)}`);
    aws.putImage(REPO, null, DIGEST);
    slack = await startTestSlack();
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: slack.apiUrl,
      awsEndpointUrl: url,
      env: {
        DOCKHAND_ROLLOUT_POLL_MS: '200',
        DOCKHAND_CI_SECRET: CI_SECRET,
        DOCKHAND_GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      },
    });
    client = signedClient(slack, dockhand.eventsUrl);
  });

  afterAll(async () => {
    await dockhand?.stop();
    await slack?.close();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('refuses unsigned, badly signed, stale, malformed, oversized and disallowed deliveries with a reason, starting nothing', async () => {
    const body = ciBody();
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, Promise<{ status: number; json: Record<string, unknown> }>, number, string][] = [
      ['unsigned', postCi(body, {} as ReturnType<typeof signCi>), 401, 'unsigned'],
      ['bad signature', postCi(body, signCi(body, now, 'another-secret-0123456789')), 401, 'bad_signature'],
      ['body changed', postCi(ciBody({ image: '9.9.9' }), signCi(body, now)), 401, 'bad_signature'],
      ['stale (6 minutes ago)', postCi(body, signCi(body, now - 360)), 401, 'stale'],
      ['stale (6 minutes ahead)', postCi(body, signCi(body, now + 360)), 401, 'stale'],
      ['not JSON', postCi('{"service":', signCi('{"service":')), 400, 'malformed'],
      ['no image', postCi(ciBody({ image: undefined }), signCi(ciBody({ image: undefined }))), 400, 'malformed'],
      [
        'bad digest',
        postCi(ciBody({ image: 'sha256:xyz' }), signCi(ciBody({ image: 'sha256:xyz' }))),
        400,
        'malformed',
      ],
      [
        'unknown service',
        postCi(ciBody({ service: 'nope' }), signCi(ciBody({ service: 'nope' }))),
        404,
        'unknown_service',
      ],
      [
        'unknown environment',
        postCi(ciBody({ environment: 'moon' }), signCi(ciBody({ environment: 'moon' }))),
        404,
        'unknown_environment',
      ],
      [
        'branch not allowed',
        postCi(ciBody({ branch: 'feature/x' }), signCi(ciBody({ branch: 'feature/x' }))),
        403,
        'not_allowed',
      ],
      ['no trigger', postCi(ciBody({ environment: 'qa' }), signCi(ciBody({ environment: 'qa' }))), 403, 'not_allowed'],
      ['too large', postCi('x'.repeat(20_000), signCi('x'.repeat(20_000))), 413, 'too_large'],
    ];
    for (const [name, response, status, error] of cases) {
      const { status: got, json } = await response;
      expect({ name, status: got, error: json.error }).toEqual({ name, status, error });
      expect(typeof json.reason).toBe('string');
    }
    const get = await fetch(`${dockhand.url}/hooks/ci`);
    expect({ status: get.status, body: await get.json() }).toMatchObject({
      status: 405,
      body: { error: 'method_not_allowed' },
    });
    const branch = await postCi(ciBody({ branch: 'feature/x' }), signCi(ciBody({ branch: 'feature/x' })));
    expect(branch.json.reason).toContain('deploys only main from ci, not feature/x');
    await new Promise((r) => setTimeout(r, 300));
    expect(aws.requestsFor('ECS.UpdateService')).toHaveLength(0);
    expect(slack.state.messages('#deploys')).toHaveLength(0);
    expect(dockhand.output()).not.toContain(CI_SECRET);
  });

  it('deploys the given tag to an environment that needs no approval, with the CI run as the requester; a replay is refused', async () => {
    const body = ciBody();
    const headers = signCi(body);
    const accepted = await postCi(body, headers);
    expect(accepted.status).toBe(202);
    expect(accepted.json).toMatchObject({ ok: true, deployments: [{ service: 'api', environment: 'staging' }] });

    const replay = await postCi(body, headers);
    expect(replay).toMatchObject({ status: 409, json: { ok: false, error: 'replayed' } });
    const metrics = await (await fetch(`${dockhand.url}/metrics`)).text();
    expect(metrics).toContain('dockhand_hook_deliveries_total{source="ci",outcome="started"} 1');
    expect(metrics).toContain('dockhand_hook_deliveries_total{source="ci",outcome="replayed"} 1');
    expect(metrics).toContain('dockhand_hook_deliveries_total{source="ci",outcome="stale"} 2');

    const done = await card((m) => m.text.startsWith('Deploy api → staging') && m.text.includes('succeeded'), 60_000);
    expect(JSON.stringify(done.blocks)).toContain('Requested by CI (https://ci.example.com/acme/api/builds/41)');
    const [update] = updatesIn('staging');
    expect(update).toBeDefined();
    expect(updatesIn('staging')).toHaveLength(1);
    const registered = aws.requestsFor('ECS.RegisterTaskDefinition').at(-1)?.input as {
      containerDefinitions: { image: string }[];
    };
    expect(registered.containerDefinitions[0]?.image).toContain(`acme/api@sha256:${'4'.repeat(64)}`);
  });

  it('asks for approval where the environment has an approval policy, showing the build link; an approver starts it', async () => {
    const body = ciBody({ environment: 'production', image: DIGEST, branch: 'release' });
    const accepted = await postCi(body);
    expect(accepted.status).toBe(202);
    const pending = await card(
      (m) => m.text.startsWith('Deploy api → production') && JSON.stringify(m.blocks).includes('approval.approve'),
    );
    expect(JSON.stringify(pending.blocks)).toContain('CI (https://ci.example.com/acme/api/builds/41) asks to deploy');
    expect(updatesIn('prod')).toHaveLength(0);
    // The CI request holds the lock like a typed /deploy; the refusal names the CI run as text, not a mention.
    await client.slashCommand({ command: '/deploy', text: 'api image:1.4.2 to production', userId: 'U0SOMEONE' });
    const locked = await slack.state.waitForEphemeral(
      (m) => m.user === 'U0SOMEONE' && m.text.includes('locked'),
      10_000,
    );
    expect(locked.text).toContain('requested by CI (https://ci.example.com/acme/api/builds/41)');
    // A second CI delivery meets the same lock: refused (409), saying by whom in plain text.
    const second = await postCi(ciBody({ environment: 'production', commit: 'c'.repeat(40) }));
    expect(second.status).toBe(409);
    expect(second.json).toMatchObject({ ok: false, deployments: [{ environment: 'production' }] });
    const [refusal] = second.json.deployments as { refused: string }[];
    expect(refusal?.refused).toMatch(
      /^api in production is locked by deployment #\d+ \(awaiting approval\) requested by CI \(https:\/\/ci\.example\.com\/acme\/api\/builds\/41\)/,
    );
    await client.clickButton({ message: pending, actionId: 'approval.approve', userId: B });
    await card((m) => m.text.startsWith('Deploy api → production') && m.text.includes('succeeded'), 60_000);
    const registered = aws.requestsFor('ECS.RegisterTaskDefinition').at(-1)?.input as {
      containerDefinitions: { image: string }[];
    };
    expect(registered.containerDefinitions[0]?.image).toContain(`acme/api@${DIGEST}`);
  });

  it('answers GitHub pings, refuses bad signatures and replays, and ignores pushes no environment builds', async () => {
    const signGithub = (body: string, secret = GITHUB_SECRET) =>
      `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const github = (body: string, event: string, delivery: string, signature = signGithub(body)) =>
      post('/hooks/github', body, {
        'x-github-event': event,
        'x-github-delivery': delivery,
        'x-hub-signature-256': signature,
      });
    const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    expect(await github(ping, 'ping', 'd-1')).toMatchObject({ status: 200, json: { ok: true, pong: true } });
    expect(await github(ping, 'ping', 'd-2', signGithub(ping, 'wrong-secret-0123456789'))).toMatchObject({
      status: 401,
      json: { error: 'bad_signature' },
    });
    const push = (branch: string) =>
      JSON.stringify({
        ref: `refs/heads/${branch}`,
        after: 'b'.repeat(40),
        repository: { full_name: 'acme/api' },
        head_commit: { url: `https://github.com/acme/api/commit/${'b'.repeat(40)}` },
      });
    // No environment of acme/api builds on a github trigger: acknowledged and ignored, so GitHub shows no failure.
    const ignored = await github(push('main'), 'push', 'd-3');
    expect(ignored.status).toBe(202);
    expect(ignored.json.ignored).toContain('no environment builds acme/api branch main');
    expect(await github('{"ref":', 'push', 'd-4')).toMatchObject({ status: 400, json: { error: 'malformed' } });
    const unsigned = await post('/hooks/github', push('main'), {
      'x-github-event': 'push',
      'x-github-delivery': 'd-5',
    });
    expect(unsigned).toMatchObject({ status: 401, json: { error: 'unsigned' } });
    expect(dockhand.output()).not.toContain(GITHUB_SECRET);
  });

  it('holds a CI deploy during a freeze of its environment, as /deploy is held, and lets it through after', async () => {
    await client.slashCommand({ command: '/dockhand', text: 'freeze staging for 1h release week', userId: B });
    await card((m) => m.text.includes('froze staging'));
    const before = updatesIn('staging').length;
    const frozenBody = ciBody({ buildUrl: 'https://ci.example.com/acme/api/builds/77' });
    const frozenHeaders = signCi(frozenBody);
    const held = await postCi(frozenBody, frozenHeaders);
    expect(held.status).toBe(409);
    expect(held.json).toMatchObject({ ok: false, deployments: [{ service: 'api', environment: 'staging' }] });
    expect(JSON.stringify(held.json)).toMatch(/staging`? is frozen/);
    expect(updatesIn('staging')).toHaveLength(before);

    await client.slashCommand({ command: '/dockhand', text: 'unfreeze staging', userId: B });
    await card((m) => m.text.includes('unfroze staging'));
    // The held delivery started nothing, so the very same request (`curl --retry`) is served now, and only once.
    const retried = await postCi(frozenBody, frozenHeaders);
    expect(retried.status).toBe(202);
    expect(retried.json).toMatchObject({ ok: true, deployments: [{ environment: 'staging', started: {} }] });
    expect(await postCi(frozenBody, frozenHeaders)).toMatchObject({ status: 409, json: { error: 'replayed' } });
    const done = (m: StoredMessage) =>
      m.text.startsWith('Deploy api → staging') &&
      m.text.includes('succeeded') &&
      JSON.stringify(m.blocks).includes('builds/77');
    await card(done, 60_000);
  });

  it('deploys /deploy api image:sha256:<digest>, the command a CI card offers to ask again', async () => {
    await client.slashCommand({ command: '/deploy', text: `api image:${DIGEST} to qa`, userId: 'U0SOMEONE' });
    const done = await card((m) => m.text.startsWith('Deploy api → qa') && m.text.includes('succeeded'), 60_000);
    expect(JSON.stringify(done.blocks)).toContain(DIGEST);
    expect(updatesIn('qa')).toHaveLength(1);
    const registered = aws.requestsFor('ECS.RegisterTaskDefinition').at(-1)?.input as {
      containerDefinitions: { image: string }[];
    };
    expect(registered.containerDefinitions[0]?.image).toContain(`acme/api@${DIGEST}`);
  });

  it('serves again, once the lock is gone, a delivery refused because its environment was locked', async () => {
    await client.slashCommand({ command: '/dockhand', text: 'lock api in staging load test', userId: B });
    await slack.state.waitForMessage((m) => m.text.includes('locked api in staging'), 10_000);
    const before = updatesIn('staging').length;
    const body = ciBody({ environment: 'staging', buildUrl: 'https://ci.example.com/acme/api/builds/90' });
    const headers = signCi(body);
    const locked = await postCi(body, headers);
    expect(locked).toMatchObject({ status: 409, json: { ok: false, deployments: [{ environment: 'staging' }] } });
    expect(JSON.stringify(locked.json)).toContain('load test');

    await client.slashCommand({ command: '/dockhand', text: 'unlock api in staging', userId: B });
    await slack.state.waitForMessage((m) => m.text.includes('unlocked api in staging'), 10_000);
    expect(updatesIn('staging')).toHaveLength(before);
    expect(await postCi(body, headers)).toMatchObject({ status: 202, json: { ok: true } });
    expect(await postCi(body, headers)).toMatchObject({ status: 409, json: { error: 'replayed' } });
  });
});

describe('local mode as a process: POST /hooks/ci deploys, and the console shows the card', () => {
  const aws = new FakeAws();
  let dockhand: DockhandProcess;

  beforeAll(async () => {
    const { url } = await aws.start();
    aws.seedService({
      cluster: 'staging',
      service: 'api',
      family: 'api-staging',
      desiredCount: 1,
      containers: [{ name: 'app', image: '123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/api:1.0.0' }],
    });
    aws.putImage(REPO, '1.4.2', `sha256:${'4'.repeat(64)}`);
    dockhand = await startDockhand({
      config: CONFIG,
      slackApiUrl: 'http://127.0.0.1:9/api/',
      awsEndpointUrl: url,
      // No SLACK_BOT_TOKEN: local mode, with this config (DOCKHAND_CONFIG) instead of the bundled example.
      env: {
        SLACK_BOT_TOKEN: '',
        SLACK_SIGNING_SECRET: '',
        DOCKHAND_ROLLOUT_POLL_MS: '200',
        DOCKHAND_CI_SECRET: CI_SECRET,
        DOCKHAND_GITHUB_WEBHOOK_SECRET: GITHUB_SECRET,
      },
    });
  }, 60_000);

  afterAll(async () => {
    await dockhand?.stop();
    await aws.stop();
    if (dockhand) removeDir(dockhand.dir);
  });

  it('starts the deployment and its card reaches the console', async () => {
    const body = ciBody();
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`${dockhand.url}/hooks/ci`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-dockhand-timestamp': String(ts),
        'x-dockhand-signature': `sha256=${createHmac('sha256', CI_SECRET).update(`${ts}.${body}`).digest('hex')}`,
      },
      body,
    });
    expect(res.status).toBe(202);
    const deadline = Date.now() + 30_000;
    let state = '';
    while (Date.now() < deadline) {
      state = await (await fetch(`${dockhand.url}/console/state`)).text();
      if (state.includes('Deploy api → staging') && state.includes('succeeded')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(state).toContain('Requested by CI (https://ci.example.com/acme/api/builds/41)');
    expect(state).toMatch(/Deploy api → staging[^"]*succeeded/);
  });
});

describe('start-up with a trigger but no usable secret', () => {
  const start = (env: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'dockhand-hooks-startup-'));
    writeFileSync(join(dir, 'dockhand.yml'), CONFIG);
    const result = spawnSync(process.execPath, [new URL('../../src/main.ts', import.meta.url).pathname], {
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_BOT_TOKEN: 'xoxb-startup-test-token',
        SLACK_SIGNING_SECRET: 'startup-signing-secret',
        PORT: '0',
        DOCKHAND_CONFIG: join(dir, 'dockhand.yml'),
        DOCKHAND_DATABASE_URL: 'sqlite::memory:',
        ...env,
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    removeDir(dir);
    return result;
  };

  it('refuses a secret too short to be safe, without echoing it, and exits 1', () => {
    const result = start({ DOCKHAND_CI_SECRET: 'tiny-secret' });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('DOCKHAND_CI_SECRET: expected a secret of at least 16 characters');
    expect(result.stderr).not.toContain('tiny-secret');
  });

  it('names the variable and the triggers that need it when it is not set, and exits 1', () => {
    const result = start({});
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'DOCKHAND_CI_SECRET: not set: services.api.environments.staging.trigger, services.api.environments.production.trigger take ci deliveries',
    );
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
