/**
 * The AWS SDK's client packages, loaded on first use.
 *
 * Importing @aws-sdk/client-ecs costs about 25–30 MiB of RSS and 0.1 s; ECR and CloudWatch Logs add little beside it
 * (they share @smithy/core). A dockhand without ECS targets or ECR registries (local mode, Docker hosts) never calls
 * AWS, so it should not pay for it: adapters name commands as `new (ecsSdk().DescribeServicesCommand)(…)`, and the
 * package is required (synchronously, from Node's module cache after the first time) when the first command is made.
 * Types are imported as usual (`import type`), which loads nothing.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const ecsSdk = (): typeof import('@aws-sdk/client-ecs') => require('@aws-sdk/client-ecs');
export const ecrSdk = (): typeof import('@aws-sdk/client-ecr') => require('@aws-sdk/client-ecr');
export const logsSdk = (): typeof import('@aws-sdk/client-cloudwatch-logs') =>
  require('@aws-sdk/client-cloudwatch-logs');
export const route53Sdk = (): typeof import('@aws-sdk/client-route-53') => require('@aws-sdk/client-route-53');
export const autoScalingSdk = (): typeof import('@aws-sdk/client-application-auto-scaling') =>
  require('@aws-sdk/client-application-auto-scaling');
export const elbv2Sdk = (): typeof import('@aws-sdk/client-elastic-load-balancing-v2') =>
  require('@aws-sdk/client-elastic-load-balancing-v2');
export const cloudWatchSdk = (): typeof import('@aws-sdk/client-cloudwatch') => require('@aws-sdk/client-cloudwatch');
