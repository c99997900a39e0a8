/**
 * The registry adapter: images read and copied over the Docker Registry HTTP API v2, with no Docker engine
 * (ImageCopier, src/ports.ts). `registries` is dockhand.yml's `registries`; a copy names two of them.
 */
import type { RegistryConfig } from '../../config/schema.ts';
import type { ImageCopier } from '../../ports.ts';
import { HttpImageCopier, type ImageCopierDeps } from './copier.ts';

export type { ImageCopierDeps } from './copier.ts';

export const createImageCopier = (registries: Record<string, RegistryConfig>, deps: ImageCopierDeps): ImageCopier =>
  new HttpImageCopier(registries, deps);
