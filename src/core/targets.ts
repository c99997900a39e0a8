import { closest } from '../config/load.ts';
import type { Config, EnvironmentConfig, ServiceConfig } from '../config/schema.ts';
import { DockhandError } from '../errors.ts';
import type { EcsServiceRef } from '../ports.ts';

/** A service in one environment: what every command resolves its arguments to. */
export interface ResolvedTarget {
  service: string;
  environment: string;
  serviceConfig: ServiceConfig;
  envConfig: EnvironmentConfig;
  channel: string;
}

const list = (names: string[]): string => names.map((n) => `\`${n}\``).join(', ');

/** `Did you mean \`hello\`? ` when a known name is close to the one given (the config loader's rule), else nothing. */
const didYouMean = (given: string, known: readonly string[]): string => {
  const suggestion = closest(given, known);
  return suggestion === undefined ? '' : `Did you mean \`${suggestion}\`? `;
};

/** Resolves `<service> [in <env>]`; without an environment, the service's first one is meant (DESIGN.md §2.2). */
export const resolveTarget = (config: Config, service: string, env?: string): ResolvedTarget => {
  // Own keys only: `constructor` and friends are no services or environments.
  const serviceConfig = Object.hasOwn(config.services, service) ? config.services[service] : undefined;
  if (!serviceConfig) {
    throw new DockhandError('not_found', `There is no service \`${service}\` in dockhand.yml.`, {
      hint: `${didYouMean(service, Object.keys(config.services))}Known services: ${list(Object.keys(config.services))}.`,
    });
  }
  const envNames = Object.keys(serviceConfig.environments);
  const environment = env ?? (envNames[0] as string);
  const envConfig = Object.hasOwn(serviceConfig.environments, environment)
    ? serviceConfig.environments[environment]
    : undefined;
  if (!envConfig) {
    throw new DockhandError('not_found', `\`${service}\` has no environment \`${environment}\`.`, {
      hint: `${didYouMean(environment, envNames)}Its environments: ${list(envNames)}.`,
    });
  }
  const channel = serviceConfig.channel ?? config.defaults.channel ?? '';
  // An environment with its own image location (dockhand.yml `environments.<env>.image`) builds, pushes and looks
  // tags up there: every step reads `serviceConfig.image` of the resolved target.
  const resolved = envConfig.image ? { ...serviceConfig, image: envConfig.image } : serviceConfig;
  return { service, environment, serviceConfig: resolved, envConfig, channel };
};

/** Every configured (service, environment), in config order. */
export const allTargets = (config: Config): ResolvedTarget[] =>
  Object.keys(config.services).flatMap((service) =>
    Object.keys(config.services[service]?.environments ?? {}).map((env) => resolveTarget(config, service, env)),
  );

export const refKey = (ref: EcsServiceRef): string => `${ref.region ?? ''}/${ref.cluster}/${ref.service}`;

/**
 * What a `/deploy` asks for must exist for the service, or it is refused before anything is recorded: a git ref
 * for a service built from a local directory (it would deploy the working tree instead), an `image:<tag>` for
 * a service whose images stay on the engine that built them (there is no registry to look the tag up in).
 */
export const checkDeployArguments = (target: ResolvedTarget, request: { ref?: string; imageTag?: string }): void => {
  const { service, serviceConfig } = target;
  const source = serviceConfig.source;
  if (request.ref !== undefined && source !== undefined && 'path' in source) {
    throw new DockhandError(
      'invalid',
      `\`${service}\` is built from the directory \`${source.path}\`, not from git: there is no ref \`${request.ref}\` to deploy.`,
      { hint: `\`/deploy ${service}\` builds the directory as it is now.` },
    );
  }
  if (request.imageTag !== undefined && !serviceConfig.image?.registry) {
    throw new DockhandError(
      'invalid',
      `\`${service}\` has no registry, so there is no \`image:${request.imageTag}\` to deploy.`,
      {
        hint: `\`/deploy ${service}\` builds and deploys it; to deploy existing tags, give it \`image: { registry, repository }\` in dockhand.yml.`,
      },
    );
  }
};
