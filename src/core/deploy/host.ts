/**
 * Image names as the cards show them, and the image a service's containers run: pure helpers over an image reference
 * and a host snapshot. What a Docker-host target is, and what changing it means, is the Docker adapter's
 * (src/adapters/docker/host-target.ts).
 */
import type { HostSnapshot } from '../../ports.ts';

/** "repo:tag" or "repo@sha256:abcdef123456" → a short name for cards: "tag" or "sha256:abcdef123456". */
export const describeImage = (image: string): string => {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1, at + 1 + 19);
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? image.slice(colon + 1) : 'latest';
};

/** The image the service's containers run now (the newest one's), if any. */
export const runningImage = (snapshot: HostSnapshot): string | undefined =>
  [...snapshot.containers].sort((a, b) => (b.startedAt?.getTime() ?? 0) - (a.startedAt?.getTime() ?? 0))[0]?.image;
