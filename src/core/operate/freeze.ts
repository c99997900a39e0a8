import type { Config } from '../../config/schema.ts';
import { enforce, environmentApprovers, mayFreeze, membershipOf, Refusal } from '../../domain/policy.ts';
import {
  activeFreeze,
  type ChangePolicy,
  changeGate,
  type Freeze,
  type GatedKind,
  parseUntil,
  type Windows,
} from '../../domain/windows.ts';
import { DockhandError } from '../../errors.ts';
import type { Clock, DeploymentRecord, Directory, Store } from '../../ports.ts';
import { type ResolvedTarget, resolveTarget } from '../targets.ts';

/**
 * Freezes and deploy windows as use cases: a freeze is stored state (`freeze:<env>`), so it survives a restart and
 * every replica reads the same one; it ends by itself at its end (read against the Clock, nothing to sweep).
 * /deploy, /rollback and /scale ask `checkChangeWindow` before they request anything.
 */

export interface FreezeDeps {
  config: Config;
  store: Store;
  clock: Clock;
  directory: Directory;
}

/** A freeze as JSON in the store. */
interface StoredFreeze {
  environment: string;
  by: string;
  at: string;
  until?: string | undefined;
  reason?: string | undefined;
}

const keyOf = (environment: string): string => `freeze:${environment}`;

const fromStored = (stored: StoredFreeze): Freeze => ({
  environment: stored.environment,
  by: stored.by,
  at: new Date(stored.at),
  until: stored.until === undefined ? undefined : new Date(stored.until),
  reason: stored.reason,
});

/** Every environment name the config knows (a freeze covers every service's environment of that name). */
export const environmentNames = (config: Config): string[] => [
  ...new Set(Object.values(config.services).flatMap((s) => Object.keys(s.environments))),
];

/**
 * The windows of each environment name that has some: the first service's that sets them (services may set their
 * own for an environment of the same name; each deploy is checked against its own).
 */
export const windowsByEnvironment = (config: Config): { environment: string; windows: Windows }[] =>
  environmentNames(config).flatMap((environment) => {
    const windows = Object.values(config.services)
      .map((s) => s.environments[environment]?.windows)
      .find((w) => w !== undefined);
    return windows ? [{ environment, windows }] : [];
  });

/** The time zone `until` is read in: the environment's windows', else UTC. */
const zoneOf = (config: Config, environment: string): string =>
  windowsByEnvironment(config).find((w) => w.environment === environment)?.windows.timeZone ?? 'UTC';

/** The freeze of an environment in force now, if any. */
export const currentFreeze = async (
  deps: Pick<FreezeDeps, 'store' | 'clock'>,
  environment: string,
): Promise<Freeze | undefined> => {
  const stored = await deps.store.getState<StoredFreeze>(keyOf(environment));
  return stored ? activeFreeze(fromStored(stored), deps.clock.now()) : undefined;
};

/** Every freeze in force now, by environment name. */
export const listFreezes = async (deps: Pick<FreezeDeps, 'config' | 'store' | 'clock'>): Promise<Freeze[]> => {
  const freezes = await Promise.all(environmentNames(deps.config).map((env) => currentFreeze(deps, env)));
  return freezes.filter((f): f is Freeze => f !== undefined);
};

/** Who may freeze and unfreeze an environment: the approvers of that environment in every service that has it. */
export const freezeApprovers = (config: Config, environment: string): string[] => [
  ...new Set(
    Object.entries(config.services).flatMap(([service, serviceConfig]) => {
      const envConfig = serviceConfig.environments[environment];
      return envConfig ? environmentApprovers(config, { service, environment, serviceConfig, envConfig }) : [];
    }),
  ),
];

const requireEnvironment = (config: Config, environment: string): void => {
  const names = environmentNames(config);
  if (!names.includes(environment)) {
    throw new DockhandError('not_found', `No service has an environment \`${environment}\`.`, {
      hint: `Environments: ${names.map((n) => `\`${n}\``).join(', ')}.`,
    });
  }
};

export type FreezeEnd = { for: number } | { until: string } | undefined;

/**
 * `/dockhand freeze <env> [for <duration> | until <time>] [reason]`: stores the freeze (replacing one in force, so a
 * freeze can be extended or shortened) and audits it. `until` is read in the environment's windows' time zone.
 */
export const freezeEnvironment = async (
  deps: FreezeDeps,
  environment: string,
  user: string,
  end: FreezeEnd,
  reason: string | undefined,
): Promise<Freeze> => {
  requireEnvironment(deps.config, environment);
  enforce(await mayFreeze(environment, freezeApprovers(deps.config, environment), user, membershipOf(deps.directory)));
  const now = deps.clock.now();
  let until: Date | undefined;
  if (end && 'for' in end) until = new Date(now.getTime() + end.for);
  else if (end) {
    const zone = zoneOf(deps.config, environment);
    until = parseUntil(end.until, zone, now);
    if (!until) {
      throw new DockhandError('usage', `“${end.until}” is not a time dockhand can read.`, {
        hint: `Give a date and time in ${zone} such as \`2026-12-24 18:00\`, an ISO time with its offset, or \`18:00\`.`,
      });
    }
    if (until.getTime() <= now.getTime()) throw new Refusal(`“${end.until}” has already passed; nothing changed.`);
  }
  const freeze: Freeze = { environment, by: user, at: now, until, reason };
  await deps.store.putState(
    keyOf(environment),
    {
      environment,
      by: user,
      at: now.toISOString(),
      until: until?.toISOString(),
      reason,
    } satisfies StoredFreeze,
    now,
  );
  await deps.store.appendAudit({
    at: now,
    actor: user,
    action: 'freeze.started',
    environment,
    subject: keyOf(environment),
    outcome: 'ok',
    detail: { until: until?.toISOString() ?? null, reason: reason ?? null },
  });
  return freeze;
};

export type UnfreezeOutcome = { result: 'unfrozen'; freeze: Freeze } | { result: 'not_frozen' };

/** `/dockhand unfreeze <env>`: ends the freeze in force (the same people who may freeze). */
export const unfreezeEnvironment = async (
  deps: FreezeDeps,
  environment: string,
  user: string,
): Promise<UnfreezeOutcome> => {
  requireEnvironment(deps.config, environment);
  const freeze = await currentFreeze(deps, environment);
  if (!freeze) return { result: 'not_frozen' };
  enforce(await mayFreeze(environment, freezeApprovers(deps.config, environment), user, membershipOf(deps.directory)));
  const now = deps.clock.now();
  await deps.store.putState(keyOf(environment), undefined, now);
  await deps.store.appendAudit({
    at: now,
    actor: user,
    action: 'freeze.ended',
    environment,
    subject: keyOf(environment),
    outcome: 'ok',
  });
  return { result: 'unfrozen', freeze };
};

/** The windows and rollback rule of a resolved target (dockhand.yml). */
export const changePolicyOf = (target: ResolvedTarget): ChangePolicy => ({
  environment: target.environment,
  windows: target.envConfig.windows,
  rollbackDuringFreeze: target.envConfig.rollbackDuringFreeze,
});

/** Why a change went ahead through a freeze or a closed window: recorded on the request, the card and the audit. */
export interface Emergency {
  emergency: string;
  emergencyCause: 'freeze' | 'window';
}

/**
 * Before /deploy, /rollback or /scale requests anything: refused (privately, with when the freeze ends or the window
 * opens) when the environment is frozen or outside its windows, unless the requester broke the glass with
 * `--emergency <reason>`; then the request carries the emergency (one more approval, marked on the card). An
 * `--emergency` when nothing is closed is refused too, so that the audit's emergencies are real ones.
 * (/promote, when it exists, calls this with kind 'deploy' for its target environment.)
 */
export const checkChangeWindow = async (
  deps: { store: Pick<Store, 'getState'>; clock: Clock },
  target: ResolvedTarget,
  kind: GatedKind,
  emergency: string | undefined,
): Promise<Emergency | undefined> => {
  const freeze = await deps.store.getState<StoredFreeze>(keyOf(target.environment));
  const policy = changePolicyOf(target);
  const gate = changeGate(policy, kind, freeze ? fromStored(freeze) : undefined, deps.clock.now());
  if (gate.open) {
    if (emergency === undefined) return undefined;
    throw new Refusal({
      kind: 'emergency_not_needed',
      environment: target.environment,
      rollback: kind === 'rollback' && policy.rollbackDuringFreeze,
    });
  }
  if (emergency === undefined) throw new Refusal({ kind: 'change_closed', gate, refused: 'request' });
  return { emergency, emergencyCause: gate.cause };
};

/** The audit event of a break-glass request, once its deployment exists. */
export const auditEmergency = (
  deps: Pick<FreezeDeps, 'store' | 'clock'>,
  deployment: Pick<DeploymentRecord, 'id' | 'service' | 'environment' | 'kind' | 'requestedBy'>,
  emergency: Emergency,
): Promise<void> =>
  deps.store.appendAudit({
    at: deps.clock.now(),
    actor: deployment.requestedBy,
    action: 'deployment.emergency',
    service: deployment.service,
    environment: deployment.environment,
    subject: deployment.id,
    outcome: 'ok',
    detail: { kind: deployment.kind, reason: emergency.emergency, cause: emergency.emergencyCause },
  });

/**
 * Before an Approve click counts: a request made without `--emergency` is not approved during a freeze or outside
 * the windows (it was asked for when they were open, or the approval would smuggle it through); it waits, or
 * expires, or is asked for again with `--emergency`. Requests not waiting for approval are left to the approval's
 * own rules.
 */
export const checkApprovalWindow = async (
  deps: Pick<FreezeDeps, 'config' | 'store' | 'clock'>,
  deployment: Pick<DeploymentRecord, 'service' | 'environment' | 'kind' | 'state' | 'request'>,
): Promise<void> => {
  if (deployment.state !== 'awaiting_approval' || typeof deployment.request.emergency === 'string') return;
  const target = resolveTarget(deps.config, deployment.service, deployment.environment);
  const freeze = await deps.store.getState<StoredFreeze>(keyOf(target.environment));
  const gate = changeGate(
    changePolicyOf(target),
    deployment.kind,
    freeze ? fromStored(freeze) : undefined,
    deps.clock.now(),
  );
  if (!gate.open) throw new Refusal({ kind: 'change_closed', gate, refused: 'approval' });
};

/** Before the Rollback button requests a rollback: the same rule as `/rollback` (without break-glass). */
export const checkRollbackWindow = async (
  deps: Pick<FreezeDeps, 'config' | 'store' | 'clock'>,
  deployment: Pick<DeploymentRecord, 'service' | 'environment'> | undefined,
): Promise<void> => {
  if (!deployment) return;
  await checkChangeWindow(
    deps,
    resolveTarget(deps.config, deployment.service, deployment.environment),
    'rollback',
    undefined,
  );
};
