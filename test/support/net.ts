import { createServer } from 'node:net';

/**
 * A TCP port nobody listens on right now, chosen by the OS (so it never collides with a port in use, unlike a
 * random number in the ephemeral range). `host` is where it must be free: a port a Docker engine publishes is
 * bound on all interfaces (0.0.0.0), a server of the tests' own on 127.0.0.1.
 */
export const freePort = (host = '127.0.0.1'): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
