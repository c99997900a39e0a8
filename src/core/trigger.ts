import { z } from 'zod';
import type { Config } from '../config/schema.ts';
import type { DeployAnImage, DeployFromGit, DeploymentTrigger } from '../domain/deployment.ts';
import { type DenialReason, enforce, mayTrigger, Refusal } from '../domain/policy.ts';
import { DockhandError } from '../errors.ts';
import { allTargets, type ResolvedTarget, resolveTarget } from './targets.ts';

/**
 * Deploys asked for from outside Slack (issue 14, item 2): what a CI run or a GitHub push asks for, checked against
 * the config's per-environment `trigger`, turned into the same deploy request a typed `/deploy` makes. Pure: the
 * HTTP edge (src/http/hooks.ts) checks signatures and freshness and calls DeploymentService.request with these.
 */

export type TriggerSource = 'ci' | 'github';

/** Why a delivery is refused; the HTTP edge maps each to a status (src/http/hooks.ts). */
export type TriggerProblem = 'malformed' | 'unknown_service' | 'unknown_environment' | 'not_allowed';

/** A delivery that asks for nothing dockhand may do: refused with a reason, nothing recorded or started. */
export class TriggerRefusal extends DockhandError {
  readonly problem: TriggerProblem;
  /** The policy's reason, when a rule refused it (worded by the caller, src/http/hooks.ts). */
  readonly denial: DenialReason | undefined;
  constructor(problem: TriggerProblem, message: string, denial?: DenialReason) {
    super(problem === 'not_allowed' ? 'forbidden' : problem === 'malformed' ? 'invalid' : 'not_found', message);
    this.name = 'TriggerRefusal';
    this.problem = problem;
    this.denial = denial;
  }
}

/** One deploy a delivery asks for: where, as whom, and the `/deploy` request (an image, or a commit to build). */
export interface TriggeredDeploy {
  target: ResolvedTarget;
  requester: string;
  request: (DeployAnImage & { trigger: TriggerFacts }) | (DeployFromGit & { ref: string; trigger: TriggerFacts });
}

/** What the card and the audit keep of the delivery (the request's `trigger`). */
export type TriggerFacts = DeploymentTrigger;

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const SHA = /^[0-9a-f]{7,40}$/;
const BRANCH = /^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/;

const webUrl = z
  .string()
  .max(500, 'expected at most 500 characters')
  .refine((s) => {
    try {
      const url = new URL(s);
      return url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      return false;
    }
  }, 'expected an http:// or https:// URL');

const ciBody = z.strictObject({
  service: z.string().min(1).max(100),
  environment: z.string().min(1).max(100).optional(),
  image: z
    .string()
    .refine((s) => TAG.test(s) || DIGEST.test(s), 'expected an image tag (1.4.2) or digest (sha256:<64 hex digits>)'),
  commit: z.string().regex(SHA, 'expected a commit SHA (7 to 40 lower-case hex digits)'),
  branch: z.string().regex(BRANCH, 'expected a branch name such as "main"'),
  buildUrl: webUrl,
});

export type CiDelivery = z.infer<typeof ciBody>;

/** Parses a delivery's JSON body with `schema`, or refuses it naming the first problem's field. */
const parseJson = <T>(text: string, schema: z.ZodType<T>): T => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new TriggerRefusal('malformed', 'the body is not JSON');
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
  throw new TriggerRefusal('malformed', `${where}${issue?.message ?? 'unexpected body'}`);
};

export const parseCiDelivery = (text: string): CiDelivery => parseJson(text, ciBody);

/** How a requester that is no Slack user is shown on cards and in the audit: `CI (<build URL>)`. */
export const ciRequester = (buildUrl: string): string => `CI (${buildUrl})`;
export const githubRequester = (url: string): string => `GitHub push (${url})`;

/** resolveTarget, its not-found errors as refusals of the delivery (without Slack markup). */
const resolve = (config: Config, service: string, environment?: string): ResolvedTarget => {
  try {
    return resolveTarget(config, service, environment);
  } catch {
    const unknownService = !Object.hasOwn(config.services, service);
    throw new TriggerRefusal(
      unknownService ? 'unknown_service' : 'unknown_environment',
      unknownService
        ? `there is no service ${service} in dockhand.yml`
        : `${service} has no environment ${environment ?? ''}`,
    );
  }
};

/** Refuses (not_allowed) a target whose trigger does not take this source and branch. */
const allow = (target: ResolvedTarget, source: TriggerSource, branch: string): ResolvedTarget => {
  try {
    enforce(mayTrigger(target, source, branch));
  } catch (e) {
    if (e instanceof Refusal) throw new TriggerRefusal('not_allowed', e.message, e.denial);
    throw e;
  }
  return target;
};

/**
 * The deploys a CI delivery asks for: its environment, or, when it names none, every environment of the service
 * whose `trigger: { source: ci }` lists the branch. The image is deployed as given (no build).
 */
export const ciDeploys = (config: Config, delivery: CiDelivery): TriggeredDeploy[] => {
  const trigger: TriggerFacts = {
    source: 'ci',
    commit: delivery.commit,
    branch: delivery.branch,
    url: delivery.buildUrl,
  };
  const deploy = (target: ResolvedTarget): TriggeredDeploy => ({
    target,
    requester: ciRequester(delivery.buildUrl),
    request: { type: 'image', imageTag: delivery.image, trigger },
  });
  if (delivery.environment !== undefined) {
    return [deploy(allow(resolve(config, delivery.service, delivery.environment), 'ci', delivery.branch))];
  }
  const service = resolve(config, delivery.service);
  const targets = Object.keys(service.serviceConfig.environments).map((env) => resolve(config, delivery.service, env));
  const allowed = targets.filter((t) => mayTrigger(t, 'ci', delivery.branch).allowed);
  if (allowed.length === 0) {
    throw new TriggerRefusal(
      'not_allowed',
      `no environment of ${delivery.service} takes deploys of branch ${delivery.branch} from ci`,
    );
  }
  return allowed.map(deploy);
};

// ---------------------------------------------------------------------------------------------------------------
// GitHub push webhooks

const githubPushBody = z.object({
  ref: z.string(),
  after: z.string(),
  deleted: z.boolean().optional(),
  compare: z.string().optional(),
  repository: z.object({ full_name: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/) }),
  head_commit: z.object({ url: z.string().optional() }).nullable().optional(),
});

/** A push, or why it asks for nothing (a tag, a deleted branch): answered 202 with `ignored`, not refused. */
export type GithubPush =
  | { kind: 'push'; repository: string; branch: string; commit: string; url: string }
  | { kind: 'ignored'; reason: string };

export const parseGithubPush = (text: string): GithubPush => {
  const body = parseJson(text, githubPushBody);
  if (!body.ref.startsWith('refs/heads/')) return { kind: 'ignored', reason: `${body.ref} is not a branch` };
  const branch = body.ref.slice('refs/heads/'.length);
  if (body.deleted) return { kind: 'ignored', reason: `branch ${branch} was deleted` };
  if (!/^[0-9a-f]{40}$/.test(body.after) || !BRANCH.test(branch)) {
    throw new TriggerRefusal('malformed', 'ref or after: expected a branch and the 40-digit SHA pushed to it');
  }
  const url = [body.head_commit?.url, body.compare].find((u) => u !== undefined && webUrl.safeParse(u).success);
  return {
    kind: 'push',
    repository: body.repository.full_name,
    branch,
    commit: body.after,
    url: url ?? `https://github.com/${body.repository.full_name}/commit/${body.after}`,
  };
};

/** `git@github.com:acme/api.git`, `https://github.com/acme/api` → `acme/api` (lower case): the end of the path. */
const repositoryPath = (git: string): string =>
  git
    .toLowerCase()
    .replace(/\.git\/?$/, '')
    .replace(/\/+$/, '')
    .replace(/^[a-z0-9+.-]+:\/\/[^/]*\//, '/')
    .replace(/^[^@/]+@[^:/]+:/, '/');

/** Whether a service's `source.git` is that GitHub repository (`owner/name`). */
export const isRepository = (git: string, fullName: string): boolean =>
  repositoryPath(git).endsWith(`/${fullName.toLowerCase()}`);

/**
 * The builds a push asks for: every environment whose `trigger: { source: github }` lists the branch, of every
 * service built from that repository. None is no error (GitHub sends every push of every branch).
 */
export const githubDeploys = (config: Config, push: Extract<GithubPush, { kind: 'push' }>): TriggeredDeploy[] =>
  allTargets(config)
    .filter((t) => {
      const source = t.serviceConfig.source;
      return source && 'git' in source && isRepository(source.git, push.repository);
    })
    .filter((t) => mayTrigger(t, 'github', push.branch).allowed)
    .map((target) => ({
      target,
      requester: githubRequester(push.url),
      request: {
        type: 'git',
        ref: push.commit,
        trigger: { source: 'github', commit: push.commit, branch: push.branch, url: push.url },
      },
    }));
