import type { RespondArguments, SlashCommand } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { withBoundary } from '../../commands/boundary.ts';
import { deployCommand } from '../../commands/deploy.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { deployHarness, FakeHost, hostConfig } from '../support/deploy-fakes.ts';
import { testRuntimes } from '../support/runtimes.ts';

/** `/deploy <text>` through the real boundary and DeploymentService (fakes for Docker and ECS, SQLite in memory). */
const runDeploy = async (config: Config, text: string) => {
  const host = new FakeHost();
  const logs: Record<string, unknown>[] = [];
  const h = await deployHarness({ config, host });
  const deps = {
    ...h.deps,
    // No ECS target here: /deploy of a Docker-host service never reads ECS.
    runtimes: testRuntimes({ host, store: h.store, clock: h.clock }),
    metrics: createMetrics(),
    logger: createLogger('debug', { write: (line: string) => void logs.push(JSON.parse(line)) }),
    deployments: h.service,
    renderDryRun: h.deps.render,
  };
  const replies: RespondArguments[] = [];
  const command = { text, user_id: 'U0ALICE', channel_id: 'C0DEPLOYS', channel_name: 'deploys' } as SlashCommand;
  const handler = withBoundary('/deploy', deps, deployCommand(deps));
  await handler({
    command,
    ack: async (response) => {
      if (response !== undefined) replies.push(typeof response === 'string' ? { text: response } : response);
    },
    respond: async (message) => {
      replies.push(typeof message === 'string' ? { text: message } : message);
      return undefined as never;
    },
  });
  await h.settle();
  const deployments = await h.store.listDeployments({ service: 'web', limit: 10 });
  return { replies, deployments, host, logs };
};

describe('/deploy refuses what a service cannot do, privately and before any deployment record', () => {
  it('refuses a git ref for a service built from a local directory', async () => {
    const { replies, deployments, host } = await runDeploy(hostConfig(), 'web no-such-branch');

    expect(replies).toHaveLength(1);
    expect(replies[0]?.response_type).toBe('ephemeral');
    expect(replies[0]?.text).toContain('`web` is built from the directory `./web`, not from git');
    expect(replies[0]?.text).toContain('`/deploy web` builds the directory as it is now.');
    expect(deployments).toEqual([]);
    expect(host.deploys).toEqual([]);
  });

  it('refuses image:<tag> for a service with no registry', async () => {
    const { replies, deployments, host } = await runDeploy(hostConfig(), 'web image:1.0');

    expect(replies).toHaveLength(1);
    expect(replies[0]?.response_type).toBe('ephemeral');
    expect(replies[0]?.text).toContain('`web` has no registry, so there is no `image:1.0` to deploy.');
    expect(deployments).toEqual([]);
    expect(host.deploys).toEqual([]);
  });

  it('logs a misspelt service at info, with the reason and no stack trace, and suggests the close one', async () => {
    const { replies, deployments, logs } = await runDeploy(hostConfig(), 'wbe');

    expect(replies[0]?.text).toContain('There is no service `wbe`');
    expect(replies[0]?.text).toContain('Did you mean `web`?');
    expect(deployments).toEqual([]);
    const refused = logs.filter((l) => l.msg === 'command refused');
    expect(refused).toEqual([
      expect.objectContaining({
        level: 'info',
        code: 'not_found',
        reason: 'There is no service `wbe` in dockhand.yml.',
      }),
    ]);
    expect(JSON.stringify(logs)).not.toContain('stack');
  });

  it('answers a user who is not one of its deployers with the refusal, mentions intact, and deploys nothing', async () => {
    const config = hostConfig();
    const web = config.services.web;
    if (!web) throw new Error('hostConfig has no web service');
    web.deployers = ['U0CAROL', 'S0DEVS'];
    const { replies, deployments, host, logs } = await runDeploy(config, 'web');

    expect(replies).toEqual([
      {
        response_type: 'ephemeral',
        replace_original: false,
        text: ':no_entry: You may not deploy `web`: its deployers are <@U0CAROL>, <!subteam^S0DEVS>.',
      },
    ]);
    expect(deployments).toEqual([]);
    expect(host.deploys).toEqual([]);
    expect(logs.filter((l) => l.msg === 'command refused')).toEqual([
      expect.objectContaining({ level: 'info', code: 'forbidden' }),
    ]);
  });

  it('still deploys the directory when no ref is given', async () => {
    const { replies, deployments } = await runDeploy(hostConfig(), 'web');

    expect(replies.filter((r) => r.response_type === 'ephemeral' && r.text?.includes(':warning:'))).toEqual([]);
    expect(deployments).toHaveLength(1);
  });
});
