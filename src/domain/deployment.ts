import { z } from 'zod';
import { DockhandError } from '../errors.ts';
import { type ScanFindings, scanFindingsSchema } from './scan.ts';

/**
 * The deployment model (DESIGN.md §3.1): what was asked (`DeploymentRequest`, one variant per kind of operation),
 * what was learned along the way (`DeploymentFacts`), the states, and the one table of the moves between them.
 * The store's conditional write is driven by `TRANSITIONS`, so a move the table does not list cannot be written.
 */

export type OperationKind = 'deploy' | 'restart' | 'rollback' | 'scale';

export const TERMINAL_STATES = [
  'succeeded',
  'failed',
  'rejected',
  'expired',
  'cancelled',
  'aborted',
  'rolled_back',
] as const;

export const ACTIVE_STATES = [
  'requested',
  'awaiting_approval',
  'approved',
  'building',
  'pushing',
  'registering',
  'rolling_out',
] as const;

export type DeploymentState = (typeof ACTIVE_STATES)[number] | (typeof TERMINAL_STATES)[number];

export const isTerminal = (state: DeploymentState): boolean => (TERMINAL_STATES as readonly string[]).includes(state);

/**
 * State → the states it may move to. Every active state may fail; a finished deployment may only be marked rolled
 * back (a later rollback restored its predecessor). `awaiting_approval → approved` is written by the store's
 * approval count, the others by the pipeline.
 */
export const TRANSITIONS: { readonly [S in DeploymentState]: readonly DeploymentState[] } = {
  requested: ['awaiting_approval', 'approved', 'failed'],
  awaiting_approval: ['approved', 'rejected', 'cancelled', 'expired', 'failed'],
  // A promote copies its image to the target's registry (pushing) before it registers or rolls out.
  approved: ['building', 'pushing', 'registering', 'rolling_out', 'failed'],
  // Without a registry a Docker-host build goes straight to the rollout; with one it is pushed first.
  building: ['pushing', 'rolling_out', 'failed'],
  pushing: ['registering', 'rolling_out', 'failed'],
  registering: ['rolling_out', 'failed'],
  rolling_out: ['succeeded', 'aborted', 'failed'],
  succeeded: ['rolled_back'],
  failed: ['rolled_back'],
  rejected: [],
  expired: [],
  cancelled: [],
  aborted: [],
  rolled_back: [],
};

const ALL_STATES: readonly DeploymentState[] = [...ACTIVE_STATES, ...TERMINAL_STATES];

export const canMove = (from: DeploymentState, to: DeploymentState): boolean => TRANSITIONS[from].includes(to);

/**
 * The states a deployment may move to `to` from: those the table lists, narrowed to `onlyFrom` where a step must
 * come from fewer (a no-approval request is approved only from `requested`). A narrowing that names a state the
 * table does not allow is a programming error, refused rather than ignored.
 */
export const sourcesOf = (to: DeploymentState, onlyFrom?: readonly DeploymentState[]): DeploymentState[] => {
  const allowed = ALL_STATES.filter((from) => canMove(from, to));
  if (onlyFrom === undefined) return allowed;
  const illegal = onlyFrom.filter((from) => !allowed.includes(from));
  if (illegal.length > 0)
    throw new DockhandError(
      'internal',
      `A deployment cannot move from ${illegal.join(', ')} to ${to}: the transition table does not allow it.`,
    );
  return allowed.filter((from) => onlyFrom.includes(from));
};

// -----------------------------------------------------------------------------------------------------------------
// What was asked

/** A deploy a signed hook asked for (src/http/hooks.ts): where it came from, kept for the card and the audit. */
export interface DeploymentTrigger {
  source: 'ci' | 'github';
  commit: string;
  branch: string;
  url: string;
}

/**
 * Break-glass (`--emergency <reason>`, issue 14): a change asked for during a freeze or outside the deploy windows.
 * Any kind of request may carry it; it needs one more approval than usual and is marked on the card. Absent on
 * every request made without it (and on every row written before freezes existed).
 */
export interface BreakGlass {
  /** The requester's reason. */
  emergency?: string;
  /** What was closed: a freeze, or the environment's windows. Absent on a dry run, which checks neither. */
  emergencyCause?: 'freeze' | 'window';
}

/** `/deploy api [<ref>]`: build from the service's source; no ref means its default ref (or a local path). */
export interface DeployFromGit extends BreakGlass {
  type: 'git';
  ref?: string;
  /** Set when a GitHub push asked for it (the ref is then the pushed commit). */
  trigger?: DeploymentTrigger;
}

/** `/deploy api image:<tag>`: an existing image, resolved to a digest when planned. */
export interface DeployAnImage extends BreakGlass {
  type: 'image';
  /** A tag, or a digest (sha256:…) that a CI trigger names. */
  imageTag: string;
  /** Set when a signed CI delivery asked for it. */
  trigger?: DeploymentTrigger;
}

/**
 * `/promote api from staging to production`: the image digest running in `from`, deployed with no build to the
 * record's environment (copied first when the two keep their images in different places). Stored as a deploy.
 */
export interface Promote extends BreakGlass {
  type: 'promote';
  /** The source environment. */
  from: string;
  /** The manifest digest the source ran when it was asked (sha256:…): the one approved and deployed. */
  digest: string;
}

/** The hook that asked for a request, if one did. */
export const triggerOf = (request: DeploymentRequest): DeploymentTrigger | undefined =>
  request.type === 'git' || request.type === 'image' ? request.trigger : undefined;

/** `/deploy api --restart`: the running task definition (or image) again. */
export interface Restart extends BreakGlass {
  type: 'restart';
}

/** `/rollback`: ECS rolls back to a task definition, a Docker host to an image. */
export interface Rollback extends BreakGlass {
  type: 'rollback';
  /** "family:revision" on ECS, a short image name on a Docker host: what the card names. */
  revision: string;
  /** Which rule picked it, shown on the card. */
  rule: string;
  /** The deployment this one undoes: marked rolled back when this one succeeds. */
  undoes?: string;
  taskDefinitionArn?: string;
  image?: string;
}

/** `/scale api 4`. */
export interface Scale extends BreakGlass {
  type: 'scale';
  desiredCount: number;
}

/** `/scale api 2..8`: new bounds for the auto scaler that owns the count (ECS: Application Auto Scaling). */
export interface ScaleBounds extends BreakGlass {
  type: 'scaleBounds';
  min: number;
  max: number;
  /** The bounds when it was asked for, shown on the card and in the audit as the old ones. */
  from: { min: number; max: number };
}

export type DeploymentRequest = DeployFromGit | DeployAnImage | Promote | Restart | Rollback | Scale | ScaleBounds;

/** The kind of operation each request is; the store keeps both and refuses a record where they disagree. */
export const KIND_OF_REQUEST: { readonly [T in DeploymentRequest['type']]: OperationKind } = {
  git: 'deploy',
  image: 'deploy',
  promote: 'deploy',
  restart: 'restart',
  rollback: 'rollback',
  scale: 'scale',
  scaleBounds: 'scale',
};

// -----------------------------------------------------------------------------------------------------------------
// What was learned

/** Facts arrive along the way (plan, build, push, register, rollout, end): each is absent until its step. */
export interface DeploymentFacts {
  // Plan
  commitSha?: string;
  commitSubject?: string;
  /** The git ref that was resolved, or "(local)" for a path source. */
  ref?: string;
  imageTag?: string;
  image?: string;
  digest?: string;
  /** The image name and tag that was built. */
  tag?: string;
  previousRevision?: string;
  /** Promote: the image as it runs in the source environment (`<registry>/<repository>@<digest>`). */
  sourceImage?: string;
  /** Promote: where the commit came from, our deployment record of the digest or the image's revision label. */
  commitFrom?: 'record' | 'label';
  /** Promote: how the image reached the target's registry (ImageCopyResult.method) and the bytes moved. */
  copyMethod?: 'present' | 'mount' | 'copy';
  copyBytes?: number;
  previousTaskDefinitionArn?: string;
  previousImage?: string;
  /** What the registry's scan of the image to deploy found (ECR; absent for plain registries and git builds). */
  scan?: ScanFindings;
  /** When an approval request expires (ISO 8601). */
  expiresAt?: string;
  approvalReplyTs?: string;
  // Register and roll out
  taskDefinitionArn?: string;
  revision?: string;
  updateServiceSentAt?: string;
  ecsDeploymentId?: string;
  rolloutStartedAt?: string;
  // End
  publicIps?: string[];
  runningCount?: number;
  containers?: string[];
  /** A Docker host with a fixed port had a moment with no container serving. */
  gap?: boolean;
  durationMs?: number;
  rolloutDurationMs?: number;
  failedIn?: DeploymentState;
  rejectedBy?: string;
  cancelledBy?: string;
  abortedBy?: string;
  abortMethod?: string;
}

/** A fact a step needs from an earlier one: its absence is a broken record, not a user error. */
export const requiredFact = <K extends keyof DeploymentFacts>(
  deployment: { id: string; facts: DeploymentFacts },
  key: K,
): NonNullable<DeploymentFacts[K]> => {
  const value = deployment.facts[key];
  if (value === undefined || value === null)
    throw new DockhandError('internal', `Deployment ${deployment.id} has no ${key} recorded.`);
  return value as NonNullable<DeploymentFacts[K]>;
};

// -----------------------------------------------------------------------------------------------------------------
// Reading stored JSON back: narrowed by a parser, never cast.

const text = z.string().min(1);
/** An optional text that is empty counts as absent, as it always did on the cards. */
const blank = z.string().transform((v) => (v === '' ? undefined : v));
const kindSchema = z.enum(['deploy', 'restart', 'rollback', 'scale']);
const stateSchema = z.enum([...ACTIVE_STATES, ...TERMINAL_STATES]);
/** The break-glass fields every request may carry (BreakGlass). */
const breakGlass = { emergency: text.optional(), emergencyCause: z.enum(['freeze', 'window']).optional() };

const triggerSchema: z.ZodType<DeploymentTrigger> = z
  .object({ source: z.enum(['ci', 'github']), commit: text, branch: text, url: text })
  .strict();

export const requestSchema: z.ZodType<DeploymentRequest> = z.discriminatedUnion('type', [
  z
    .object({ type: z.literal('git'), ref: blank.optional(), trigger: triggerSchema.optional(), ...breakGlass })
    .strict(),
  z.object({ type: z.literal('image'), imageTag: text, trigger: triggerSchema.optional(), ...breakGlass }).strict(),
  z
    .object({
      type: z.literal('promote'),
      from: text,
      digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
      ...breakGlass,
    })
    .strict(),
  z.object({ type: z.literal('restart'), ...breakGlass }).strict(),
  z
    .object({
      type: z.literal('rollback'),
      revision: text,
      rule: text,
      undoes: blank.optional(),
      taskDefinitionArn: blank.optional(),
      image: blank.optional(),
      ...breakGlass,
    })
    .strict()
    .refine((r) => (r.taskDefinitionArn === undefined) !== (r.image === undefined), {
      message: 'a rollback names either a task definition or an image',
    }),
  z.object({ type: z.literal('scale'), desiredCount: z.number().int().nonnegative(), ...breakGlass }).strict(),
  z
    .object({
      type: z.literal('scaleBounds'),
      min: z.number().int().nonnegative(),
      max: z.number().int().nonnegative(),
      from: z.object({ min: z.number().int().nonnegative(), max: z.number().int().nonnegative() }).strict(),
      ...breakGlass,
    })
    .strict()
    .refine((r) => r.min <= r.max, { message: 'the minimum of auto scaling bounds is above their maximum' }),
]);

/** One parser per fact; `satisfies` makes a fact added to DeploymentFacts without its parser a compile error. */
const FACT_PARSERS = {
  commitSha: blank,
  commitSubject: blank,
  ref: blank,
  imageTag: blank,
  image: blank,
  digest: blank,
  tag: blank,
  previousRevision: blank,
  sourceImage: blank,
  commitFrom: z.enum(['record', 'label']),
  copyMethod: z.enum(['present', 'mount', 'copy']),
  copyBytes: z.number().int().nonnegative(),
  previousTaskDefinitionArn: blank,
  previousImage: blank,
  scan: scanFindingsSchema,
  expiresAt: blank,
  approvalReplyTs: blank,
  taskDefinitionArn: blank,
  revision: blank,
  updateServiceSentAt: blank,
  ecsDeploymentId: blank,
  rolloutStartedAt: blank,
  publicIps: z.array(z.string()),
  runningCount: z.number(),
  containers: z.array(z.string()),
  gap: z.boolean(),
  durationMs: z.number(),
  rolloutDurationMs: z.number(),
  failedIn: stateSchema,
  rejectedBy: blank,
  cancelledBy: blank,
  abortedBy: blank,
  abortMethod: blank,
} satisfies { [K in keyof Required<DeploymentFacts>]: z.ZodType<DeploymentFacts[K] | undefined> };

export const factsSchema: z.ZodType<DeploymentFacts> = z.object(FACT_PARSERS).partial().strict();

const describe = (error: z.ZodError): string =>
  error.issues.map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');

const unreadable = (id: string, what: string, detail: string): DockhandError =>
  new DockhandError('store', `Deployment ${id} has ${what} this dockhand cannot read (${detail}).`, {
    hint: 'It was written by another version of dockhand: run the newest one, whose migrations rewrite old records.',
  });

export const parseKind = (id: string, value: unknown): OperationKind => {
  const parsed = kindSchema.safeParse(value);
  if (!parsed.success) throw unreadable(id, 'a kind', describe(parsed.error));
  return parsed.data;
};

export const parseState = (id: string, value: unknown): DeploymentState => {
  const parsed = stateSchema.safeParse(value);
  if (!parsed.success) throw unreadable(id, 'a state', describe(parsed.error));
  return parsed.data;
};

/** A stored request, checked against its record's kind. */
export const parseRequest = (id: string, kind: OperationKind, value: unknown): DeploymentRequest => {
  const parsed = requestSchema.safeParse(value);
  if (!parsed.success) throw unreadable(id, 'a request', describe(parsed.error));
  if (KIND_OF_REQUEST[parsed.data.type] !== kind)
    throw unreadable(id, 'a request', `a ${parsed.data.type} request in a ${kind} record`);
  return parsed.data;
};

export const parseFacts = (id: string, value: unknown): DeploymentFacts => {
  const parsed = factsSchema.safeParse(value);
  if (!parsed.success) throw unreadable(id, 'facts', describe(parsed.error));
  return parsed.data;
};
