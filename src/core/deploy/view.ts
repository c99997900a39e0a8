import type { ScanGate } from '../../domain/policy.ts';
import type {
  CommitSummary,
  DeploymentAlarms,
  DeploymentRecord,
  DeploymentState,
  FieldChange,
  OutgoingMessage,
  RolloutProgress,
} from '../../ports.ts';

/** What a deployment card shows besides the stored record: live progress that is not worth a store write. */
export interface DeploymentLive {
  plan?: {
    currentRevision: string;
    currentImage: string;
    newImage?: string | undefined;
    changes: FieldChange[];
    commits?: { commits: CommitSummary[]; total: number } | undefined;
    health?: string | undefined;
    /** The alarms that will judge the rollout (ECS deployment alarms), with their states at plan time. */
    alarms?: DeploymentAlarms | undefined;
  };
  build?: { step: number; total: number; instruction: string; lastLines?: string[] };
  push?: { percent: number };
  /** A promote copying its image to the target's registry: bytes moved and to move. */
  copy?: { copied: number; total: number };
  rollout?: RolloutProgress;
  failure?: {
    step?: string | undefined;
    output?: string[] | undefined;
    logLines?: string[] | undefined;
    /** The failing error's remedy (DockhandError.hint), e.g. which registry's credentials to check. */
    hint?: string | undefined;
    /**
     * An abort whose return to the previous `revision` failed: why, in words a channel may read with the remedy
     * (failureLineForChannel: the missing permission); the whole error is in the log.
     */
    restore?: { revision: string; reason: string } | undefined;
  };
  /** `scanGate`: the image's scan reached the policy's blockOn or has no result, so each approval needs a reason. */
  approvalPolicy?: { required: number; approvers: string[]; scanGate?: ScanGate | undefined };
  /** Docker host: what the runtime is doing (pulling, starting, waiting_healthy…). */
  host?: { phase: string; detail?: string | undefined };
  /** Whether the card offers Abort (not on Docker hosts, whose rollout is one step). */
  canAbort?: boolean;
  /** The plan waits for the registry's scan of the image (src/core/deploy/scan.ts), at most `waitMs`. */
  scanWait?: { waitMs: number } | undefined;
  /** Where it runs: cards speak of containers on a Docker host, of tasks and task definitions on ECS (default). */
  platform?: 'ecs' | 'docker';
}

export type DeploymentView = DeploymentRecord & DeploymentLive;

/** Turns a view into a Slack message; the Slack layer provides it, the core only calls it. */
export type RenderDeployment = (view: DeploymentView, now: Date) => OutgoingMessage;

/**
 * A refusal that names people or shows what someone typed: data from the core, words from the Slack layer (mentions
 * of users and groups, escaping and masking of free text).
 */
export type RefusalView = {
  kind: 'locked';
  service: string;
  environment: string;
  /** Who took the lock (a user id), shown when no deployment holds it. */
  holder: string;
  /** Free text typed with /dockhand lock. */
  reason?: string | undefined;
  acquiredAt: Date;
  /** Taken by hand (/dockhand lock), not by a deployment. */
  manual: boolean;
  /** The deployment that holds it, if one does. */
  deployment?: { seq: number; state: DeploymentState; requestedBy: string } | undefined;
};

/** Turns a refusal into the text shown to the one refused. */
export type RenderRefusal = (refusal: RefusalView) => string;
