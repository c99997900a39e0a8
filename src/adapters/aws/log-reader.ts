/**
 * `/logs`: the lines of a service's tasks, read where its current task definition sends them.
 *
 * Calls per serviceLogs: DescribeServices 1, DescribeTaskDefinition 1 (cached by ARN: they are immutable), and
 * FilterLogEvents over the container's streams (`<prefix>/<container>/…`), bounded by filterServiceLogs' pages.
 */
import type { ContainerDefinition, TaskDefinition } from '@aws-sdk/client-ecs';
import { AwsError, DockhandError } from '../../errors.ts';
import type { EcsDeployTarget, LogQuery, LogReader, ServiceLogs } from '../../ports.ts';
import type { AwsClientSet } from './clients.ts';
import { awsLogsLocation, filterServiceLogs } from './logs.ts';
import { ecsSdk } from './sdk.ts';

const CACHE_SIZE = 100;

/** A CloudWatch Logs filter pattern matching `text` as one phrase; undefined when it cannot be quoted safely. */
export const phrasePattern = (text: string): string | undefined =>
  text === '' || /["\\]/.test(text) ? undefined : `"${text}"`;

export interface AwsLogReaderOptions {
  clients: { forRegion(region?: string): Pick<AwsClientSet, 'ecs' | 'logs'> };
}

export class AwsLogReader implements LogReader {
  readonly #clients: AwsLogReaderOptions['clients'];
  readonly #taskDefinitions = new Map<string, TaskDefinition>();

  constructor(options: AwsLogReaderOptions) {
    this.#clients = options.clients;
  }

  async serviceLogs(target: EcsDeployTarget, query: LogQuery): Promise<ServiceLogs> {
    const container = await this.#container(target);
    const location = awsLogsLocation(container);
    if (!location) {
      return { found: false, container: target.container, logDriver: container.logConfiguration?.logDriver };
    }
    const result = await filterServiceLogs({
      logs: this.#clients.forRegion(location.region ?? target.region).logs,
      group: location.group,
      streamPrefix: location.streamPrefix,
      container: location.container,
      startTime: query.since,
      pattern: query.grep === undefined ? undefined : phrasePattern(query.grep),
      limit: query.limit,
    });
    // The pattern narrows the search server-side; this check makes the match exact (and covers unquotable text).
    const grep = query.grep;
    const lines = result.lines
      .filter((l) => grep === undefined || l.message.includes(grep))
      .map((l) => ({ at: l.at, taskId: l.taskId, message: l.message }));
    return { found: true, group: location.group, lines, incomplete: result.truncated };
  }

  async #container(target: EcsDeployTarget): Promise<ContainerDefinition> {
    const ecs = this.#clients.forRegion(target.region).ecs;
    const where = `service ${target.service} in cluster ${target.cluster}`;
    let arn: string | undefined;
    try {
      const out = await ecs.send(
        new (ecsSdk().DescribeServicesCommand)({ cluster: target.cluster, services: [target.service] }),
      );
      arn = out.services?.find((s) => s.status !== 'INACTIVE')?.taskDefinition;
    } catch (error) {
      throw new AwsError(`describe ${where}`, error);
    }
    if (!arn) {
      throw new DockhandError('not_found', `${where} not found`, {
        hint: 'Check the cluster and service names in dockhand.yml.',
      });
    }
    let td = this.#taskDefinitions.get(arn);
    if (!td) {
      try {
        td =
          (await ecs.send(new (ecsSdk().DescribeTaskDefinitionCommand)({ taskDefinition: arn }))).taskDefinition ?? {};
      } catch (error) {
        throw new AwsError(`describe the task definition of ${where}`, error);
      }
      if (this.#taskDefinitions.size >= CACHE_SIZE) this.#taskDefinitions.clear();
      this.#taskDefinitions.set(arn, td);
    }
    const found = td.containerDefinitions?.find((c) => c.name === target.container);
    if (!found) {
      throw new DockhandError('invalid', `container "${target.container}" is not in the task definition of ${where}`, {
        hint: 'Check the container name in dockhand.yml.',
      });
    }
    return found;
  }
}
