import type { TaskSnapshot } from '../ports.ts';

/**
 * Where a task is reached from outside: its public IP, and on the EC2 launch type (bridge or host networking, no
 * task ENI) the host ports its containers are bound to on that instance: "203.0.113.7:32768", "203.0.113.7:80,443".
 * Undefined when it has no public IP (or it is not known yet).
 */
export const taskAddress = (t: Pick<TaskSnapshot, 'publicIp' | 'hostPorts'>): string | undefined => {
  if (t.publicIp === undefined) return undefined;
  const ports = t.hostPorts ?? [];
  return ports.length > 0 ? `${t.publicIp}:${ports.join(',')}` : t.publicIp;
};
