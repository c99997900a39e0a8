import cron from 'node-cron';
import { z } from 'zod';
import { parseDuration } from '../core/duration.ts';
import { BLOCK_ON } from '../domain/scan.ts';
import { isTimeZone, minutesOfDay, WEEKDAYS, type Weekday } from '../domain/windows.ts';

/**
 * The schema of dockhand.yml (DESIGN.md §2.3). Keys shown in the design are a contract; the others
 * are additions documented in dockhand.example.yml. Objects are strict so that a misspelt key fails
 * at start-up instead of being ignored.
 */

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected a lower-case name of letters, digits, "-" or "_"');

const duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  message: 'expected a duration such as 30s, 15m, 2h or 1d',
});

/**
 * node-cron's validate allocates ~35 KB per call; a config of 1,000 services that share a few watch schedules
 * asked it 2,000 times at every start (73 MiB, bench:watch). Each distinct expression is validated once.
 */
const validCron = new Map<string, boolean>();
const isCron = (s: string): boolean => {
  let valid = validCron.get(s);
  if (valid === undefined) {
    valid = cron.validate(s);
    if (validCron.size < 1000) validCron.set(s, valid);
  }
  return valid;
};
const cronExpression = z.string().refine(isCron, {
  message: 'expected a cron expression such as "*/5 * * * *"',
});

const channel = z
  .string()
  .regex(/^(#[a-z0-9._-]{1,80}|[CGD][A-Z0-9]{6,})$/, 'expected a channel name like "#deploys" or a channel id');

/** Slack user (U…/W…) or user-group (S…) ids. */
const principal = z.string().regex(/^[UWS][A-Z0-9]{2,}$/, 'expected a Slack user id (U…) or user-group id (S…)');

const ecrRegistry = z.strictObject({
  type: z.literal('ecr'),
  region: z.string().optional(),
  registryId: z
    .string()
    .regex(/^\d{12}$/, 'expected a 12-digit AWS account id')
    .optional(),
  /**
   * How long a plan waits for ECR's scan of the image it deploys to finish before the approval card says "scan still
   * running" and goes on (issue 13, item 6); default 60s (src/core/deploy/scan.ts); 0s reads once without waiting.
   */
  scanWait: duration.optional(),
});

const plainRegistry = z.strictObject({
  type: z.literal('registry'),
  address: z.string().regex(/^[A-Za-z0-9.-]+(:\d+)?$/, 'expected host[:port], without a scheme'),
  insecure: z.boolean().default(false),
  username: z.string().optional(),
  password: z.string().optional(),
});

const registry = z.discriminatedUnion('type', [ecrRegistry, plainRegistry]);

const approval = z.strictObject({
  approvers: z.array(principal).min(1),
  required: z.int().min(1).default(1),
  allowSelfApproval: z.boolean().default(false),
  expiresAfter: duration.default('30m'),
  /**
   * An image whose registry scan found anything of this severity or worse (critical, or high and critical) needs one
   * more approval than `required`, and each approver gives a reason (issue 13, item 6).
   */
  blockOn: z.enum(BLOCK_ON).optional(),
});

const buildFields = {
  dockerfile: z.string().default('Dockerfile'),
  context: z.string().default('.'),
  buildArgs: z.record(z.string(), z.string()).default({}),
};

const gitSource = z.strictObject({ git: z.string().min(1), ref: z.string().min(1).default('main'), ...buildFields });
const pathSource = z.strictObject({ path: z.string().min(1), ...buildFields });

const ecsTarget = z.strictObject({
  type: z.literal('ecs'),
  cluster: z.string().min(1),
  service: z.string().min(1),
  container: z.string().min(1),
  region: z.string().optional(),
});

const portMapping = z
  .string()
  .regex(/^(\d{1,5}(-\d{1,5})?:)?\d{1,5}(\/(tcp|udp))?$/, 'expected "host:container" ports');

const dockerTarget = z.strictObject({
  type: z.literal('docker'),
  host: z.string().regex(/^(unix|tcp|ssh|npipe):\/\/.+/, 'expected unix://, tcp:// or ssh:// URL'),
  container: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a container name'),
  ports: z.array(portMapping).default([]),
  env: z.record(z.string(), z.string()).default({}),
  volumes: z.array(z.string()).default([]),
  healthcheck: z.strictObject({ port: z.int().min(1).max(65535), path: z.string().optional() }).optional(),
  replicas: z.int().min(0).default(1),
  /** Run Docker's init (tini) as PID 1, so the app gets SIGTERM and stops at once instead of after 10 s. */
  init: z.boolean().default(false),
  network: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'expected a Docker network name such as "bridge", "host" or "backend"')
    .optional(),
  publicAddress: z.string().optional(),
  tls: z.strictObject({ ca: z.string(), cert: z.string(), key: z.string() }).optional(),
  sshKey: z.string().optional(),
});

const target = z.discriminatedUnion('type', [ecsTarget, dockerTarget]);

const scale = z
  .strictObject({ min: z.int().min(0), max: z.int().min(0) })
  .refine((s) => s.min <= s.max, { message: 'min must not exceed max' });

/** A git branch name as CI systems and GitHub report it (`main`, `release/1.4`). */
const branchName = z
  .string()
  .regex(/^(?!-)(?!.*\.\.)[A-Za-z0-9._/-]{1,200}$/, 'expected a branch name such as "main" or "release/1.4"');

/**
 * Deploys started from outside Slack (src/http/hooks.ts): `ci` takes a signed `POST /hooks/ci` with an image CI
 * built; `github` takes GitHub `push` webhooks and builds the pushed commit. `auto: false` always asks for approval.
 */
const trigger = z.strictObject({
  source: z.enum(['ci', 'github'], { error: 'expected "ci" or "github"' }),
  branches: z.array(branchName).min(1),
  auto: z.boolean().default(false),
});

/** "mon-fri", "sat,sun", ["mon", "wed"] → the weekdays named (a range runs forward: "fri-mon" is fri, sat, sun, mon). */
const weekdaysOf = (text: string): Weekday[] | undefined => {
  const days = new Set<Weekday>();
  for (const part of text
    .toLowerCase()
    .split(',')
    .map((p) => p.trim())) {
    const [first, last] = part.split('-').map((d) => WEEKDAYS.indexOf(d.slice(0, 3) as Weekday));
    if (first === undefined || first < 0 || (last !== undefined && last < 0) || part.split('-').length > 2)
      return undefined;
    for (let i = first; ; i = (i + 1) % 7) {
      days.add(WEEKDAYS[i] as Weekday);
      if (last === undefined || i === last) break;
    }
  }
  return WEEKDAYS.filter((d) => days.has(d));
};

const windowDays = z.union([z.string(), z.array(z.string())]).transform((value, ctx) => {
  const days = weekdaysOf(Array.isArray(value) ? value.join(',') : value);
  if (!days || days.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'expected weekdays such as "mon-fri" or [mon, wed, fri]' });
    return z.NEVER;
  }
  return days;
});

const windowHours = z
  .string()
  .regex(/^\d{2}:\d{2}-\d{2}:\d{2}$/, { message: 'expected hours such as "09:00-17:00"', abort: true })
  .refine((h) => h.split('-').every((t) => minutesOfDay(t) !== undefined) && h.split('-')[0] !== h.split('-')[1], {
    message: 'expected two different times of day between 00:00 and 24:00, such as "09:00-17:00"',
  });

/** Deploy windows: when changes may reach the environment (src/domain/windows.ts). */
const windows = z
  .strictObject({
    timeZone: z.string().refine(isTimeZone, { message: 'expected an IANA time zone such as "Europe/Berlin" or "UTC"' }),
    open: z.array(z.strictObject({ days: windowDays, hours: windowHours })).min(1),
  })
  .transform((w) => ({
    timeZone: w.timeZone,
    open: w.open.map((o) => {
      const [from, to] = o.hours.split('-') as [string, string];
      return { days: o.days, from, to };
    }),
  }));

const imageLocation = z.strictObject({
  /** Omitted: the image stays on the engine that built it (Docker-host targets on that engine only). */
  registry: name.optional(),
  repository: z
    .string()
    .regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, 'expected a lower-case repository path such as "acme/api"'),
});

const environment = z.strictObject({
  target,
  /** Where this environment's images are (builds for it push there, /promote copies there); default: the service's. */
  image: imageLocation.optional(),
  approval: name.optional(),
  scaleApproval: name.optional(),
  scale: scale.optional(),
  /** How long a rollout may take; a blue/green rollout's bake time (on the ECS service) is added (follow.ts). */
  rolloutTimeout: duration.default('30m'),
  trigger: trigger.optional(),
  windows: windows.optional(),
  /** Rollbacks go ahead during a freeze and outside the windows unless this is false. */
  rollbackDuringFreeze: z.boolean().default(true),
});

/** A Route 53 A record that follows the public IPs of an ECS service's tasks (src/core/watch/dns.ts). */
const dnsRecord = z.strictObject({
  zone: z
    .string()
    .regex(/^(\/hostedzone\/)?Z[A-Z0-9]{1,31}$/, 'expected a Route 53 hosted zone id such as "Z0123456789ABCDEFGHIJ"'),
  name: z
    .string()
    .regex(
      /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?$/,
      'expected a DNS name such as "api.example.com"',
    ),
  ttl: z.int().min(0).max(2_147_483_647).default(60),
  /** Which ECS environment's tasks; required when the service has more than one. */
  environment: name.optional(),
});

/** `watch.publicIps`: a cron expression, or `{ schedule, dns }` to keep Route 53 A records equal to the IPs. */
const publicIpsWatch = z.union([
  cronExpression,
  z.strictObject({ schedule: cronExpression, dns: z.union([dnsRecord, z.array(dnsRecord).min(1)]).optional() }),
]);

const service = z.strictObject({
  source: z.union([gitSource, pathSource], { error: 'expected { git, ref } or { path }' }).optional(),
  image: imageLocation.optional(),
  deployers: z.array(principal).optional(),
  channel: channel.optional(),
  environments: z
    .record(name, environment)
    .refine((e) => Object.keys(e).length > 0, { message: 'expected at least one environment' }),
  watch: z.strictObject({ health: cronExpression.optional(), publicIps: publicIpsWatch.optional() }).optional(),
});

export const configSchema = z
  .strictObject({
    defaults: z.strictObject({ channel: channel.optional(), region: z.string().optional() }).default({}),
    registries: z.record(name, registry).default({}),
    approvals: z.record(name, approval).default({}),
    services: z.record(name, service),
    digest: z.strictObject({ channel, schedule: cronExpression }).optional(),
  })
  .superRefine((config, ctx) => {
    for (const [policyName, policy] of Object.entries(config.approvals)) {
      // blockOn asks for one approval more than required: users alone (no group) must be enough people for it.
      const users = policy.approvers.filter((p) => !p.startsWith('S'));
      if (policy.blockOn && users.length === policy.approvers.length && users.length < policy.required + 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['approvals', policyName, 'blockOn'],
          message: `an image it holds needs ${policy.required + 1} approvals, but only ${users.length} approver(s) are listed: add approvers (or a user group), or lower required`,
        });
      }
    }
    for (const [serviceName, svc] of Object.entries(config.services)) {
      // Each environment runs the image of its own `image:` if it has one, else the service's: check that one.
      const imageOf = (env: z.infer<typeof environment>) => env.image ?? svc.image;
      const registryProblem = (registry: string): string | undefined =>
        registry in config.registries
          ? undefined
          : `unknown registry "${registry}" (defined: ${Object.keys(config.registries).join(', ') || 'none'})`;
      if (svc.image?.registry === undefined) {
        // Only the environments that use the service's image: one with its own image says where it pulls from.
        const ecsEnv = Object.entries(svc.environments).find(([, env]) => !env.image && env.target.type !== 'docker');
        if (svc.image && ecsEnv) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', serviceName, 'image', 'registry'],
            message: `required: environment "${ecsEnv[0]}" runs on ECS, which pulls from a registry (only a Docker-host target can run an image that stays on the engine that built it)`,
          });
        }
      } else {
        const problem = registryProblem(svc.image.registry);
        if (problem)
          ctx.addIssue({ code: 'custom', path: ['services', serviceName, 'image', 'registry'], message: problem });
      }
      for (const [envName, env] of Object.entries(svc.environments)) {
        const path = ['services', serviceName, 'environments', envName, 'image', 'registry'];
        if (env.image?.registry === undefined) {
          if (env.image && env.target.type !== 'docker')
            ctx.addIssue({ code: 'custom', path, message: 'required: ECS pulls its images from a registry' });
        } else {
          const problem = registryProblem(env.image.registry);
          if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
        }
      }
      if (svc.source) {
        const imageless = Object.entries(svc.environments)
          .filter(([, env]) => !imageOf(env))
          .map(([envName]) => envName);
        if (imageless.length === Object.keys(svc.environments).length) {
          ctx.addIssue({
            code: 'custom',
            path: ['services', serviceName, 'image'],
            message: 'a service with a source needs an image: { registry, repository } to push to',
          });
        } else {
          for (const envName of imageless)
            ctx.addIssue({
              code: 'custom',
              path: ['services', serviceName, 'environments', envName, 'image'],
              message:
                'a service with a source builds for every environment: this one needs an image: { registry, repository } to push to (or give the service one)',
            });
        }
      }
      for (const [envName, env] of Object.entries(svc.environments)) {
        for (const key of ['approval', 'scaleApproval'] as const) {
          const policy = env[key];
          if (policy !== undefined && !(policy in config.approvals)) {
            ctx.addIssue({
              code: 'custom',
              path: ['services', serviceName, 'environments', envName, key],
              message: `unknown approval policy "${policy}" (defined: ${Object.keys(config.approvals).join(', ') || 'none'})`,
            });
          }
        }
      }
      for (const problem of dnsProblems(svc))
        ctx.addIssue({ code: 'custom', ...problem, path: ['services', serviceName, ...problem.path] });
      for (const [envName, env] of Object.entries(svc.environments)) {
        const path = ['services', serviceName, 'environments', envName, 'trigger'];
        if (env.trigger && !env.trigger.auto && env.approval === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'auto'],
            message:
              'false needs an approval policy on this environment (approval: <policy>) to say who approves what the trigger asks for; or set auto: true',
          });
        }
        if (env.trigger?.source === 'ci' && !imageOf(env)?.registry) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'source'],
            message: env.image
              ? `ci deploys an image CI pushed: this environment's image (services.${serviceName}.environments.${envName}.image) needs a registry`
              : 'ci deploys an image CI pushed: the service needs image: { registry, repository }',
          });
        }
        if (env.trigger?.source === 'github' && !(svc.source && 'git' in svc.source)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'source'],
            message: 'github builds the pushed commit: the service needs source: { git }',
          });
        }
      }
      if (!svc.channel && !config.defaults.channel) {
        ctx.addIssue({
          code: 'custom',
          path: ['services', serviceName, 'channel'],
          message: 'no channel: set services.<name>.channel or defaults.channel',
        });
      }
    }
  });

/** The environments of a service whose tasks have public IPs that change (ECS), which a DNS record may follow. */
const dnsEnvironments = (svc: Pick<z.infer<typeof service>, 'environments'>): string[] =>
  Object.entries(svc.environments)
    .filter(([, env]) => env.target.type === 'ecs')
    .map(([envName]) => envName);

/** The environment a `watch.publicIps.dns` record follows: the one it names, or the service's only ECS one. */
export const dnsEnvironmentOf = (
  svc: Pick<z.infer<typeof service>, 'environments'>,
  record: { environment?: string | undefined },
): string | undefined => {
  const candidates = dnsEnvironments(svc);
  return record.environment ?? (candidates.length === 1 ? candidates[0] : undefined);
};

/** Problems of `watch.publicIps.dns`, with paths inside the service: which environment each record follows. */
function dnsProblems(svc: z.infer<typeof service>): { path: (string | number)[]; message: string }[] {
  const publicIps = svc.watch?.publicIps;
  if (publicIps === undefined || typeof publicIps === 'string' || publicIps.dns === undefined) return [];
  const { dns } = publicIps;
  const records = Array.isArray(dns) ? dns : [dns];
  const ecsEnvironments = dnsEnvironments(svc);
  const problems: { path: (string | number)[]; message: string }[] = [];
  const seen = new Set<string>();
  for (const [i, record] of records.entries()) {
    const path = ['watch', 'publicIps', 'dns', ...(Array.isArray(dns) ? [i] : [])];
    if (ecsEnvironments.length === 0) {
      problems.push({
        path,
        message: 'no environment of this service runs on ECS (a Docker host has a fixed address)',
      });
      continue;
    }
    const envName = dnsEnvironmentOf(svc, record);
    if (envName === undefined) {
      problems.push({
        path: [...path, 'environment'],
        message: `required: this service has more than one ECS environment (${ecsEnvironments.join(', ')}); name the one whose public IPs this record follows`,
      });
      continue;
    }
    if (!ecsEnvironments.includes(envName)) {
      const why = envName in svc.environments ? 'does not run on ECS' : 'is not an environment of this service';
      problems.push({
        path: [...path, 'environment'],
        message: `"${envName}" ${why} (ECS: ${ecsEnvironments.join(', ')})`,
      });
      continue;
    }
    const key = `${record.zone.replace(/^\/hostedzone\//, '')} ${record.name.toLowerCase().replace(/\.$/, '')}`;
    if (seen.has(key))
      problems.push({ path: [...path, 'name'], message: `"${record.name}" is kept by another entry already` });
    seen.add(key);
  }
  return problems;
}

export type Config = z.infer<typeof configSchema>;
export type ServiceConfig = Config['services'][string];
export type EnvironmentConfig = ServiceConfig['environments'][string];
export type TargetConfig = EnvironmentConfig['target'];
export type EcsTargetConfig = Extract<TargetConfig, { type: 'ecs' }>;
export type DockerTargetConfig = Extract<TargetConfig, { type: 'docker' }>;
export type RegistryConfig = Config['registries'][string];
export type TriggerConfig = NonNullable<EnvironmentConfig['trigger']>;
export type ApprovalPolicy = Config['approvals'][string];
export type SourceConfig = NonNullable<ServiceConfig['source']>;
export type DnsRecordConfig = z.infer<typeof dnsRecord>;
