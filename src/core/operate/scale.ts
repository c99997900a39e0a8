import { DockhandError } from '../../errors.ts';
import type { ResolvedTarget } from '../targets.ts';

/** Task counts an environment allows when its dockhand.yml entry sets no `scale: { min, max }`. */
export const DEFAULT_SCALE_BOUNDS = { min: 1, max: 10 } as const;

export const scaleBounds = (target: ResolvedTarget): { min: number; max: number } =>
  target.envConfig.scale ?? DEFAULT_SCALE_BOUNDS;

/**
 * Checks a requested task count against the environment's bounds before anything is asked of AWS.
 * Throws a refusal naming the bounds (and where to change them) when the count is outside.
 */
export const checkScaleCount = (target: ResolvedTarget, count: number): number => {
  const { min, max } = scaleBounds(target);
  if (!Number.isInteger(count) || count < min || count > max) {
    throw new DockhandError(
      'forbidden',
      `\`${target.service}\` in \`${target.environment}\` can run between ${min} and ${max} tasks; ${count} is outside those bounds. Nothing was changed.`,
      {
        hint: `The bounds are \`scale: { min, max }\` of services.${target.service}.environments.${target.environment} in dockhand.yml.`,
      },
    );
  }
  return count;
};
