import Docker from 'dockerode';
import { DockhandError } from '../../errors.ts';

/**
 * A dockerode client for a DOCKER_HOST-style URL (unix://, tcp://, ssh://); undefined = the default socket.
 * dockerode would read DOCKER_HOST itself; parsing it here keeps the environment read in one place.
 */
export const connectDocker = (host: string | undefined): Docker => {
  if (!host) return new Docker({ socketPath: '/var/run/docker.sock' });
  let url: URL;
  try {
    url = new URL(host);
  } catch {
    throw new DockhandError('config', `DOCKER_HOST "${host}" is not a URL such as unix:///var/run/docker.sock`);
  }
  switch (url.protocol) {
    case 'unix:':
      return new Docker({ socketPath: decodeURIComponent(url.pathname) });
    case 'tcp:':
    case 'http:':
      return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
    case 'https:':
      return new Docker({ host: url.hostname, port: Number(url.port || 2376), protocol: 'https' });
    case 'ssh:':
      return new Docker({
        protocol: 'ssh',
        host: url.hostname,
        port: Number(url.port || 22),
        ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      });
    default:
      throw new DockhandError('config', `DOCKER_HOST "${host}": expected unix://, tcp:// or ssh://`);
  }
};
