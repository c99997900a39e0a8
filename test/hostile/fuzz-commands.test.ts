import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorText } from '../../commands/boundary.ts';
import { parseConfig } from '../../src/config/load.ts';
import {
  isValidGitRef,
  parseDeploy,
  parseDockhand,
  parseLogs,
  parseRollback,
  parseScale,
  parseStatus,
} from '../../src/core/grammar.ts';
import { checkDeployArguments, resolveTarget } from '../../src/core/targets.ts';
import { asDockhandError, UsageError } from '../../src/errors.ts';
import { createPrng } from '../support/fake-aws/prng.ts';
import { type FuzzInput, fuzzCorpus, HOSTILE_TOKEN, type SlashCommand } from './corpus.ts';
import {
  A,
  awsCallCount,
  CONFIG,
  firstLeak,
  type Hostile,
  M,
  REGISTRY_PASSWORD,
  SECRETS,
  sleep,
  startHostile,
} from './harness.ts';

/**
 * A seeded fuzz corpus over every slash command. Straight into the grammar (10,500 texts): nothing but a
 * UsageError comes out, what it accepts is well-formed, and the refusal shown to the user escapes whatever was
 * typed. Then a few hundred through dockhand as a process over signed HTTP: the process stays up, every
 * acknowledgement and every Slack call is well-formed and accepted by Slack, no text from the input notifies or
 * links anyone, no secret reaches Slack, and an input that is refused before any work makes no AWS call.
 */
const SEED = Number(process.env.DOCKHAND_HOSTILE_SEED ?? 0xf0_22);
const GRAMMAR_INPUTS = 10_500;
const HTTP_INPUTS = 300;
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const config = parseConfig(CONFIG, { env: { REGISTRY_PASSWORD } });

type Parsed = { service?: string | undefined; env?: string | undefined };
const PARSERS: Record<SlashCommand, (text: string) => Parsed & Record<string, unknown>> = {
  '/deploy': parseDeploy as never,
  '/rollback': parseRollback as never,
  '/scale': parseScale as never,
  '/status': parseStatus as never,
  '/logs': parseLogs as never,
  '/dockhand': parseDockhand as never,
};

/** What the grammar made of a request that it accepted, if it is not well-formed. */
const malformed = (command: SlashCommand, r: Parsed & Record<string, unknown>): string | undefined => {
  if (r.service !== undefined && !NAME.test(r.service)) return `service ${r.service}`;
  if (r.env !== undefined && !NAME.test(r.env)) return `env ${r.env}`;
  if (command === '/deploy') {
    if (typeof r.ref === 'string' && !isValidGitRef(r.ref)) return `ref ${r.ref}`;
    if (typeof r.imageTag === 'string' && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(r.imageTag))
      return `tag ${r.imageTag}`;
    if (r.restart === true && (r.ref !== undefined || r.imageTag !== undefined)) return 'restart with a ref';
  }
  if (command === '/scale' && !(Number.isInteger(r.count) && (r.count as number) >= 0)) return `count ${r.count}`;
  if (
    command === '/rollback' &&
    r.revision !== undefined &&
    !(Number.isInteger(r.revision) && (r.revision as number) >= 1)
  )
    return `revision ${r.revision}`;
  if (command === '/logs' && !(Number.isFinite(r.sinceMs) && (r.sinceMs as number) > 0)) return `since ${r.sinceMs}`;
  return undefined;
};

/** Whether dockhand refuses the input before doing any work: the grammar, the config's names, the deploy kind. */
const refusedBeforeWork = ({ command, text }: FuzzInput): boolean => {
  try {
    const request = PARSERS[command](text);
    if (request.service === undefined) return false;
    const target = resolveTarget(config, request.service, request.env);
    if (command === '/deploy') checkDeployArguments(target, request as never);
    return false;
  } catch {
    return true;
  }
};

const show = (input: FuzzInput) => `${input.command} ${JSON.stringify(input.text.slice(0, 120))}`;

describe('hostile: a seeded fuzz corpus over every slash command', () => {
  it(`the grammar refuses with a UsageError or returns a well-formed request, for ${GRAMMAR_INPUTS} texts`, () => {
    const corpus = fuzzCorpus(createPrng(SEED), GRAMMAR_INPUTS);
    const bad: string[] = [];
    let refused = 0;
    for (const input of corpus) {
      try {
        const problem = malformed(input.command, PARSERS[input.command](input.text));
        if (problem) bad.push(`${show(input)} accepted as ${problem}`);
      } catch (e) {
        refused += 1;
        if (!(e instanceof UsageError)) {
          bad.push(`${show(input)} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
          continue;
        }
        const leak = firstLeak(errorText(asDockhandError(e)), []);
        if (leak) bad.push(`${show(input)} refused with ${leak}`);
      }
    }
    console.log(
      `fuzz, grammar (seed ${SEED}): ${corpus.length} texts tried, ${refused} refused, ` +
        `${corpus.length - refused} accepted, ${bad.length} bad outcomes`,
    );
    expect(bad.slice(0, 10)).toEqual([]);
  });

  describe('through dockhand as a process', () => {
    let h: Hostile;
    const corpus = fuzzCorpus(createPrng(SEED + 1), HTTP_INPUTS);
    const refused = corpus.filter(refusedBeforeWork);
    const accepted = corpus.filter((i) => !refusedBeforeWork(i));

    /** Sends inputs four at a time; returns what was wrong with the acknowledgements. */
    const sendAll = async (
      inputs: FuzzInput[],
      check: (input: FuzzInput, status: number, body: unknown) => string[],
    ) => {
      const problems: string[] = [];
      for (let i = 0; i < inputs.length; i += 4) {
        await Promise.all(
          inputs.slice(i, i + 4).map(async (input, j) => {
            const ack = await h.client.slashCommand({
              command: input.command,
              text: input.text,
              userId: (i + j) % 3 === 0 ? M : A,
            });
            problems.push(...check(input, ack.status, ack.body).map((p) => `${show(input)}: ${p}`));
          }),
        );
      }
      return problems;
    };
    /** Waits until dockhand has made no Slack call for `quietMs` (bounded). */
    const settle = async (quietMs = 1500, maxMs = 30_000) => {
      const started = Date.now();
      let seen = h.slack.state.calls().length;
      let since = Date.now();
      while (Date.now() - started < maxMs) {
        await sleep(250);
        const now = h.slack.state.calls().length;
        if (now !== seen) [seen, since] = [now, Date.now()];
        else if (Date.now() - since >= quietMs) return;
      }
    };

    beforeAll(async () => {
      h = await startHostile();
    });

    afterAll(async () => {
      await h?.close();
    });

    it('answers every refused input to the requester alone, escaped, with no AWS call and no Slack call', async () => {
      h.aws.resetCalls();
      const slackBefore = h.slack.state.calls().length;
      const problems = await sendAll(refused, (_input, status, body) => {
        const reply = body as { response_type?: string; text?: unknown };
        const p: string[] = [];
        if (status !== 200) p.push(`status ${status}`);
        if (reply?.response_type !== 'ephemeral' || typeof reply.text !== 'string') p.push('no ephemeral reply');
        else if (!reply.text.includes('Usage:') && !reply.text.includes(':warning:')) p.push(`reply ${reply.text}`);
        const leak = firstLeak(JSON.stringify(body));
        if (leak) p.push(leak);
        return p;
      });
      await sleep(500);
      const slackCalls = h.slack.state.calls().slice(slackBefore);
      console.log(
        `fuzz, refused over HTTP (seed ${SEED + 1}): ${refused.length} tried, ${problems.length} bad replies, ` +
          `${awsCallCount(h.aws)} AWS calls, ${slackCalls.length} Slack calls`,
      );
      expect(problems.slice(0, 10)).toEqual([]);
      expect(awsCallCount(h.aws)).toBe(0);
      expect(slackCalls.map((c) => c.method)).toEqual([]);
    }, 60_000);

    it('runs the accepted ones without a crash, a rejected Slack call, an unescaped mention or a leaked secret', async () => {
      const slackBefore = h.slack.state.calls().length;
      const logsBefore = h.dockhand.logs.length;
      const problems = await sendAll(accepted, (_input, status, body) => {
        const p: string[] = [];
        if (status !== 200) p.push(`status ${status}`);
        const leak = firstLeak(JSON.stringify(body ?? ''));
        if (leak) p.push(leak);
        return p;
      });
      await settle();
      const calls = h.slack.state.calls().slice(slackBefore);
      for (const call of calls) {
        if (call.status !== 200 || call.response.ok !== true)
          problems.push(`${call.method} refused by Slack: ${JSON.stringify(call.response).slice(0, 200)}`);
        const leak = firstLeak(JSON.stringify(call.args));
        if (leak) problems.push(`${call.method} carried ${leak}: ${JSON.stringify(call.args).slice(0, 300)}`);
      }
      const errors = h.dockhand.logs.slice(logsBefore).filter((l) => typeof l.level === 'number' && l.level >= 50);
      const health = await h.health();
      console.log(
        `fuzz, accepted over HTTP (seed ${SEED + 1}): ${accepted.length} tried, ${calls.length} Slack calls, ` +
          `${awsCallCount(h.aws)} AWS calls, ${problems.length} bad outcomes, ${errors.length} error logs, ` +
          `process ${h.dockhand.child.exitCode === null ? 'alive' : 'dead'}, /healthz ${health}`,
      );
      expect(problems.slice(0, 10)).toEqual([]);
      expect(errors.map((l) => l.msg)).toEqual([]);
      expect(h.dockhand.child.exitCode).toBeNull();
      expect(health).toBe(200);
      const output = h.dockhand.output();
      expect([...SECRETS, HOSTILE_TOKEN].filter((s) => output.includes(s))).toEqual([]);
    }, 90_000);
  });
});
