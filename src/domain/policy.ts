import type { ApprovalPolicy, Config } from '../config/schema.ts';
import { DockhandError } from '../errors.ts';
import type { BreakGlass, DeploymentFacts } from './deployment.ts';
import { type BlockOn, findingsAtOrAbove, type ScanFindings, type UnknownScan } from './scan.ts';
import type { ClosedGate } from './windows.ts';

/**
 * Who may do what: the one place that decides. Every rule is a function of the config's rules, the facts of the
 * deployment or lock at hand, and the directory's answer to "is this user one of these principals?" (group
 * membership is a Slack call, so it is passed in as `isMember` and asked only when a rule needs it, in the order
 * the rule reads). The rules change nothing and call nothing else; callers ask them and act on the decision.
 */

/** True when `user` is one of `principals` (user ids, or ids of groups the user belongs to): Directory.includes. */
export type Membership = (principals: readonly string[], user: string) => Promise<boolean>;

/** The membership question asked of a directory (src/ports.ts Directory). */
export const membershipOf =
  (directory: { includes: Membership }): Membership =>
  (principals, user) =>
    directory.includes(principals, user);

/**
 * Why a rule said no, as data: who may instead, and of what. The rules never word it; the Slack layer
 * (src/slack/blocks/refusals.ts denialText) turns it into the sentence the person who asked reads, the same wherever
 * the rule is asked.
 */
export type DenialReason =
  /** The service names its deployers (user or group ids) and the user is none of them. */
  | { kind: 'not_a_deployer'; service: string; deployers: readonly string[] }
  /** An approval of a deployment whose environment asks for none. */
  | { kind: 'needs_no_approval' }
  /** The requester approving their own request, which the policy does not allow. */
  | { kind: 'own_request' }
  /** An approval by someone who is not one of the policy's approvers (user or group ids). */
  | { kind: 'not_an_approver'; approvers: readonly string[] }
  /** A rejection by someone who is neither an approver nor the requester. */
  | { kind: 'may_not_reject' }
  /** An abort by someone who is neither the requester nor an approver. */
  | { kind: 'may_not_abort' }
  /** An unlock by someone other than an approver of the environment or the lock's `holder`. */
  | { kind: 'may_not_unlock'; environment: string; holder: 'manual' | 'requester' | 'other' }
  /** Logs of a service that names its deployers, asked by someone who is neither a deployer nor an approver. */
  | { kind: 'may_not_read_logs'; service: string }
  /** A freeze or unfreeze by someone who is not an approver of that environment. */
  | { kind: 'may_not_freeze'; environment: string; approvers: readonly string[] }
  /** A signed hook asking for anything but a deploy. */
  | { kind: 'hook_deploys_only' }
  /** A hook from a source the environment's trigger does not name. */
  | { kind: 'trigger_not_set'; service: string; environment: string; source: string }
  /** A hook for a branch the environment's trigger does not list. */
  | {
      kind: 'branch_not_allowed';
      service: string;
      environment: string;
      source: string;
      branches: readonly string[];
      branch: string;
    }
  /**
   * A change while the environment is frozen or outside its windows (src/domain/windows.ts changeGate), without
   * break-glass: a `request`, which may ask again with --emergency, or the `approval` of a request that did not.
   */
  | { kind: 'change_closed'; gate: ClosedGate; refused: 'request' | 'approval' }
  /** An --emergency when nothing is closed; `rollback`: because rollbacks go ahead through freezes and windows. */
  | { kind: 'emergency_not_needed'; environment: string; rollback: boolean }
  /**
   * `/scale api 4` of a service whose count an auto scaler owns: it would undo the count within minutes. Names its
   * bounds and count now, and the bounds command to use instead (`suggested`: the asked count within the config's).
   */
  | {
      kind: 'autoscaled';
      service: string;
      environment: string;
      min: number;
      max: number;
      desired: number;
      count: number;
      suggested: { min: number; max: number };
    }
  /** `/scale api 2..8` of a service that nothing auto scales (`runtime`: what runs it, when it has no auto scaler). */
  | { kind: 'not_autoscaled'; service: string; environment: string; runtime?: string | undefined }
  /**
   * An approval without a reason of an image the scan gate holds: its scan found `findings` at or above the policy's
   * `blockOn`, or its result is `unknown`.
   */
  | ({ kind: 'reason_required' } & ScanGate);

/** A rule's no, with why (see DenialReason). */
export type Denial = { allowed: false; reason: DenialReason };

/** What a rule answers: yes, or no. */
export type Decision = { allowed: true } | Denial;

const ALLOWED: Decision = { allowed: true };
const deny = (reason: DenialReason): Denial => ({ allowed: false, reason });

/**
 * A request refused by a rule or by the state of things: shown to the requester or clicker alone, nothing changed.
 * Refusals are thrown, everywhere (core, operations, commands); the boundary (commands/boundary.ts) turns them into
 * the ephemeral reply (src/slack/replies.ts), the `refused` outcome of the metrics and the audit trail. A refusal by
 * a rule carries its `denial` as data, worded by the Slack layer; its `message` then only names the kind of denial
 * (for code that reads errors as text); one by the state of things carries its text.
 */
export class Refusal extends DockhandError {
  readonly denial: DenialReason | undefined;

  constructor(why: string | DenialReason) {
    super('forbidden', typeof why === 'string' ? why : `refused by policy: ${why.kind}`);
    this.name = 'Refusal';
    this.denial = typeof why === 'string' ? undefined : why;
  }
}

/** Throws the refusal of a decision that says no. */
export function enforce<A extends { allowed: true }>(decision: A | Denial): asserts decision is A {
  if (!decision.allowed) throw new Refusal(decision.reason);
}

/** The parts of a resolved target (core/targets.ts ResolvedTarget) the rules read. */
export interface PolicyTarget {
  service: string;
  environment: string;
  serviceConfig: { deployers?: readonly string[] | undefined };
  envConfig: {
    approval?: string | undefined;
    scaleApproval?: string | undefined;
    /** Deploys a signed hook may ask for (config/schema.ts `trigger`). */
    trigger?: { source: string; branches: readonly string[] } | undefined;
  };
}

/** The kinds of operation (ports.ts OperationKind); scaling may have its own approval policy. */
export type PolicyKind = 'deploy' | 'restart' | 'rollback' | 'scale';

// ---------------------------------------------------------------------------------------------------------------
// Deploy, restart, roll back, scale: the service's deployers (everyone when it names none)

/**
 * Anyone may deploy a service that names no deployers; one that names them, only they (users or groups). The same
 * rule covers every operation that changes what runs: deploy, restart, rollback and scale.
 */
export const mayDeploy = async (target: PolicyTarget, user: string, isMember: Membership): Promise<Decision> => {
  const deployers = target.serviceConfig.deployers;
  if (!deployers || (await isMember(deployers, user))) return ALLOWED;
  return deny({ kind: 'not_a_deployer', service: target.service, deployers: [...deployers] });
};

/** Rolling back is deploying an earlier revision: the deployers' rule. */
export const mayRollBack = mayDeploy;

/** Scaling changes what runs: the deployers' rule (the count's bounds are the environment's, checked apart). */
export const mayScale = mayDeploy;

/** Restarting redeploys what runs: the deployers' rule. */
export const mayRestart = mayDeploy;

/**
 * The rule for a request of that kind. A deploy a signed hook asked for (`via`: its source and branch) has no Slack
 * user to ask about: the environment's trigger is its deployers' rule (mayTrigger).
 */
export const mayRequest = async (
  kind: PolicyKind,
  target: PolicyTarget,
  user: string,
  isMember: Membership,
  via?: { source: 'ci' | 'github'; branch: string },
): Promise<Decision> => {
  if (via) return kind === 'deploy' ? mayTrigger(target, via.source, via.branch) : deny({ kind: 'hook_deploys_only' });
  const rule = { deploy: mayDeploy, restart: mayRestart, rollback: mayRollBack, scale: mayScale }[kind];
  return rule(target, user, isMember);
};

// ---------------------------------------------------------------------------------------------------------------
// Approvals

/**
 * An image the policy's `blockOn` holds (issue 13, item 6): one more approval than the policy needs, each with a
 * reason. Either its registry scan found `findings` at or above `blockOn`, or the scan has no result (`unknown`: still
 * running, failed, never scanned, unscannable or unreadable), which the gate treats alike rather than letting it by.
 */
export type ScanGate = { blockOn: BlockOn; findings: number } | { blockOn: BlockOn; unknown: UnknownScan };

/** An approval policy as it applies to one operation: break-glass and the image's scan may each add an approval. */
export type EffectivePolicy = ApprovalPolicy & { scanGate?: ScanGate | undefined };

/**
 * The scan gate a policy puts on an image's scan: a finished scan with findings at or above `blockOn`, or a scan with
 * no result. None where the image has no scan at all (a registry that does not scan, or a git build, whose image is
 * made after the approval).
 */
export const scanGateOf = (
  policy: Pick<ApprovalPolicy, 'blockOn'> | undefined,
  scan: ScanFindings | undefined,
): ScanGate | undefined => {
  const blockOn = policy?.blockOn;
  if (blockOn === undefined || scan === undefined) return undefined;
  if (scan.status !== 'complete') return { blockOn, unknown: scan.status };
  const findings = findingsAtOrAbove(scan, blockOn);
  return findings > 0 ? { blockOn, findings } : undefined;
};

/**
 * The approval policy an operation of `kind` on that service and environment needs, if any: the configured one,
 * plus one approval for break-glass (`request.emergency`) and one for an image whose scan reaches the policy's
 * `blockOn` (`facts.scan`, known once planned).
 */
export const approvalPolicyFor = (
  config: Pick<Config, 'services' | 'approvals'>,
  operation: {
    service: string;
    environment: string;
    kind: PolicyKind;
    request?: BreakGlass;
    facts?: Pick<DeploymentFacts, 'scan'>;
  },
): EffectivePolicy | undefined => {
  const env = config.services[operation.service]?.environments[operation.environment];
  const name = operation.kind === 'scale' ? (env?.scaleApproval ?? env?.approval) : env?.approval;
  const configured = name ? config.approvals[name] : undefined;
  const policy =
    operation.request?.emergency === undefined
      ? configured
      : emergencyPolicy(configured, config.services[operation.service]?.deployers);
  const scanGate = scanGateOf(configured, operation.facts?.scan);
  if (!policy || !scanGate) return policy;
  return { ...policy, required: quorumOf(policy.required) + 1, scanGate };
};

/** An approval of an image the scan gate holds needs a reason (what someone typed; blank counts as none). */
export const mayApproveWithReason = (policy: EffectivePolicy, reason: string | undefined): Decision => {
  const gate = policy.scanGate;
  if (!gate || (reason !== undefined && reason.trim() !== '')) return ALLOWED;
  return deny({ kind: 'reason_required', ...gate });
};

/** An approver list that anyone (but the requester, unless self-approval is allowed) satisfies. */
export const ANYONE = '*';

/**
 * Break-glass (`--emergency`, during a freeze or outside the windows): one more approval than the usual policy
 * needs; an environment with no approval needs one, from the service's deployers (anyone when it names none),
 * never the requester.
 */
export const emergencyPolicy = (
  policy: ApprovalPolicy | undefined,
  deployers: readonly string[] | undefined,
): ApprovalPolicy =>
  policy
    ? { ...policy, required: quorumOf(policy.required) + 1 }
    : { approvers: deployers ? [...deployers] : [ANYONE], required: 1, allowSelfApproval: false, expiresAfter: '30m' };

/** Everyone who may approve anything in the target's environment (its approval and scaleApproval policies). */
export const environmentApprovers = (config: Pick<Config, 'approvals'>, target: PolicyTarget): string[] => {
  const names = [target.envConfig.approval, target.envConfig.scaleApproval].filter((n): n is string => !!n);
  return [...new Set(names.flatMap((n) => config.approvals[n]?.approvers ?? []))];
};

/** How many distinct approvals a policy needs: at least one, whatever the number says. */
export const quorumOf = (required: number): number => Math.max(1, Math.trunc(required));

/** True once `approvals` distinct approvers have approved a request that needs `required`. */
export const quorumReached = (approvals: number, required: number): boolean => approvals >= quorumOf(required);

/**
 * An approval counts when the request needs one, the approver is not its requester (unless the policy allows
 * self-approval), and the approver is one of the policy's approvers.
 */
export const mayApprove = async <P extends Pick<ApprovalPolicy, 'approvers' | 'allowSelfApproval'>>(
  policy: P | undefined,
  request: { requestedBy: string },
  user: string,
  isMember: Membership,
): Promise<{ allowed: true; policy: P } | Denial> => {
  if (!policy) return deny({ kind: 'needs_no_approval' });
  if (user === request.requestedBy && !policy.allowSelfApproval) {
    return deny({ kind: 'own_request' });
  }
  if (!policy.approvers.includes(ANYONE) && !(await isMember(policy.approvers, user))) {
    return deny({ kind: 'not_an_approver', approvers: [...policy.approvers] });
  }
  return { allowed: true, policy };
};

/** Who stops a waiting request: an approver rejects it; its requester (not an approver) withdraws it. */
export type RejectDecision = { allowed: true; as: 'approver' | 'requester' } | Denial;

export const mayReject = async (
  policy: Pick<ApprovalPolicy, 'approvers'> | undefined,
  request: { requestedBy: string },
  user: string,
  isMember: Membership,
): Promise<RejectDecision> => {
  const isRequester = user === request.requestedBy;
  const isApprover = policy ? await isMember(policy.approvers, user) : false;
  if (isApprover) return { allowed: true, as: 'approver' };
  if (isRequester) return { allowed: true, as: 'requester' };
  return deny({ kind: 'may_not_reject' });
};

// ---------------------------------------------------------------------------------------------------------------
// Abort, unlock, logs

/** A rollout in progress may be aborted by its requester or an approver of its policy. */
export const mayAbort = async (
  policy: Pick<ApprovalPolicy, 'approvers'> | undefined,
  rollout: { requestedBy: string },
  user: string,
  isMember: Membership,
): Promise<Decision> => {
  const allowed = user === rollout.requestedBy || (policy ? await isMember(policy.approvers, user) : false);
  return allowed ? ALLOWED : deny({ kind: 'may_not_abort' });
};

/**
 * A lock may be released by an approver of the environment, by whoever took it by hand (`manualOwner`), or, for a
 * deployment's leftover lock (after an Abort), by that deployment's requester.
 */
export const mayUnlock = async (
  input: {
    target: PolicyTarget;
    approvers: readonly string[];
    manualOwner: string | undefined;
    deployment: { requestedBy: string } | undefined;
  },
  user: string,
  isMember: Membership,
): Promise<Decision> => {
  const { target, approvers, manualOwner, deployment } = input;
  const isApprover = approvers.length > 0 && (await isMember(approvers, user));
  if (isApprover || user === manualOwner || (deployment !== undefined && deployment.requestedBy === user)) {
    return ALLOWED;
  }
  const holder = manualOwner ? 'manual' : deployment ? 'requester' : 'other';
  return deny({ kind: 'may_not_unlock', environment: target.environment, holder });
};

/**
 * Logs can say more than a status card: a service that names its deployers shows them to its deployers and to the
 * approvers of the environment only; one that names none, to everyone.
 */
export const mayReadLogs = async (
  target: PolicyTarget,
  approvers: readonly string[],
  user: string,
  isMember: Membership,
): Promise<Decision> => {
  const deployers = target.serviceConfig.deployers;
  if (!deployers || (await isMember([...deployers, ...approvers], user))) return ALLOWED;
  return deny({ kind: 'may_not_read_logs', service: target.service });
};

// ---------------------------------------------------------------------------------------------------------------
// Deploy triggers from outside Slack (src/http/hooks.ts)

/**
 * A signed hook may request a deploy of an environment whose `trigger` names that source and lists the branch: the
 * config's trigger is the deployers' rule for a requester that is no Slack user (the signature says who sent it).
 */
export const mayTrigger = (target: PolicyTarget, source: 'ci' | 'github', branch: string): Decision => {
  const trigger = target.envConfig.trigger;
  if (trigger?.source !== source) {
    return deny({ kind: 'trigger_not_set', service: target.service, environment: target.environment, source });
  }
  if (!trigger.branches.includes(branch)) {
    return deny({
      kind: 'branch_not_allowed',
      service: target.service,
      environment: target.environment,
      source,
      branches: trigger.branches,
      branch,
    });
  }
  return ALLOWED;
};

// ---------------------------------------------------------------------------------------------------------------
// Freezes

/**
 * An environment may be frozen and unfrozen by its approvers (of every service that has an environment of that
 * name); an environment without approvers, by anyone.
 */
export const mayFreeze = async (
  environment: string,
  approvers: readonly string[],
  user: string,
  isMember: Membership,
): Promise<Decision> => {
  if (approvers.length === 0 || (await isMember(approvers, user))) return ALLOWED;
  return deny({ kind: 'may_not_freeze', environment, approvers: [...approvers] });
};
