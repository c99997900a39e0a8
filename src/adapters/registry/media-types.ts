/** The manifest media types dockhand reads and copies (Docker schema 2 and OCI, images and indexes). */
export const MANIFEST_MEDIA_TYPES: readonly string[] = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
];
/** The Accept header of a manifest look-up. */
export const MANIFEST_ACCEPT = MANIFEST_MEDIA_TYPES.join(', ');
/** Media types of an index (a manifest of manifests, one per platform). */
export const INDEX_MEDIA_TYPES: readonly string[] = [
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.index.v1+json',
];
