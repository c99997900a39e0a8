import type { SqlExecutor } from './driver.ts';

/**
 * Migration 3: rewrites every deployment's `request` and `facts` as written by dockhand before the typed model
 * (src/domain/deployment.ts) into that model's shape. Frozen like every shipped migration: it speaks of the JSON
 * of that time on purpose and does not import today's types, which may move on.
 *
 * Before, a request was a bag per kind:
 * - deploy  `{ ref: string | null }` (null: the service's default ref) or `{ imageTag }`
 * - restart `{ restart: true }`
 * - rollback `{ taskDefinitionArn, revision, rule, undoes? }` (ECS) or `{ image, revision, rule, undoes? }` (host);
 *   `revision` could be a bare number
 * - scale `{ desiredCount }` (`count` in the earliest records)
 * Now each carries its `type` (git | image | restart | rollback | scale) and nothing else than its fields.
 * Facts keep their names; values are normalized to their types (numbers, strings, string lists), unknown keys and
 * nulls are dropped, and an approval expiry kept in facts only is copied to the `expires_at` column too.
 */
export const typeDeploymentRows = async (tx: SqlExecutor): Promise<void> => {
  const { rows } = await tx.query('SELECT id, kind, request, facts, expires_at FROM deployments');
  for (const row of rows) {
    const kind = String(row.kind);
    const request = upgradeRequest(kind, parseObject(row.request));
    const facts = upgradeFacts(parseObject(row.facts));
    const expiry = typeof facts.expiresAt === 'string' ? Date.parse(facts.expiresAt) : Number.NaN;
    const expiresAt =
      row.expires_at === null || row.expires_at === undefined
        ? Number.isFinite(expiry)
          ? expiry
          : null
        : Number(row.expires_at);
    await tx.query('UPDATE deployments SET request = $2, facts = $3, expires_at = $4 WHERE id = $1', [
      String(row.id),
      JSON.stringify(request),
      JSON.stringify(facts),
      expiresAt,
    ]);
  }
};

type Json = Record<string, unknown>;

const parseObject = (value: unknown): Json => {
  try {
    const parsed: unknown = JSON.parse(String(value));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Json) : {};
  } catch {
    return {};
  }
};

const string = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;

const nonEmpty = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

const number = (value: unknown): number | undefined => {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
};

const strings = (value: unknown): string[] | undefined =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;

/** Keeps the keys whose value is defined, in order. */
const defined = (entries: Record<string, unknown>): Json =>
  Object.fromEntries(Object.entries(entries).filter(([, v]) => v !== undefined));

const upgradeRequest = (kind: string, old: Json): Json => {
  if (typeof old.type === 'string') return old; // already typed (a re-run over rows a newer writer wrote)
  switch (kind) {
    case 'deploy': {
      const imageTag = nonEmpty(string(old.imageTag));
      if (imageTag !== undefined) return { type: 'image', imageTag };
      const ref = string(old.ref);
      return defined({ type: 'git', ref: ref === '' ? undefined : ref });
    }
    case 'restart':
      return { type: 'restart' };
    case 'rollback': {
      const arn = nonEmpty(string(old.taskDefinitionArn));
      const image = arn === undefined ? nonEmpty(string(old.image)) : undefined;
      const revision = nonEmpty(string(old.revision)) ?? arn ?? image ?? 'unknown';
      return defined({
        type: 'rollback',
        revision,
        rule: nonEmpty(string(old.rule)) ?? 'the revision asked for',
        undoes: nonEmpty(string(old.undoes)),
        // A rollback names what it restores; ECS takes "family:revision" where an ARN is missing.
        taskDefinitionArn: arn ?? (image === undefined ? revision : undefined),
        image,
      });
    }
    case 'scale':
      return { type: 'scale', desiredCount: Math.max(0, Math.trunc(number(old.desiredCount ?? old.count) ?? 0)) };
    default:
      return old; // an unknown kind: left for the reader to refuse with its id
  }
};

const TEXT_FACTS = [
  'commitSha',
  'commitSubject',
  'ref',
  'imageTag',
  'image',
  'digest',
  'tag',
  'previousRevision',
  'previousTaskDefinitionArn',
  'previousImage',
  'expiresAt',
  'approvalReplyTs',
  'taskDefinitionArn',
  'revision',
  'updateServiceSentAt',
  'ecsDeploymentId',
  'rolloutStartedAt',
  'failedIn',
  'rejectedBy',
  'cancelledBy',
  'abortedBy',
  'abortMethod',
] as const;
const NUMBER_FACTS = ['runningCount', 'durationMs', 'rolloutDurationMs'] as const;
const LIST_FACTS = ['publicIps', 'containers'] as const;

const upgradeFacts = (old: Json): Json => {
  const facts: Json = {};
  for (const key of TEXT_FACTS) facts[key] = string(old[key]);
  for (const key of NUMBER_FACTS) facts[key] = number(old[key]);
  for (const key of LIST_FACTS) facts[key] = strings(old[key]);
  if (old.gap === true) facts.gap = true;
  return defined(facts);
};
