/**
 * Reading the CloudWatch Logs of ECS tasks whose containers log with the `awslogs` driver.
 *
 * With `awslogs-stream-prefix` set, ECS names each task's stream `<prefix>/<container>/<task id>`, so the streams of
 * given tasks are known without listing anything:
 *
 *   tailLogStreams      the newest lines of a few streams: one GetLogEvents (newest first) per stream
 *   filterServiceLogs   lines of a time window, optionally matching a filter pattern: FilterLogEvents, 100 streams
 *                       a call (or a stream-name prefix for the whole container), pages bounded by `maxPages`
 *
 * A log group or stream that does not exist (a task that never started) reads as no lines.
 */
import type { CloudWatchLogsClient, FilteredLogEvent, OutputLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import { AwsError, errorName } from '../../errors.ts';
import { logsSdk } from './sdk.ts';

/** FilterLogEvents accepts at most 100 stream names. */
export const STREAMS_PER_FILTER = 100;
/** Default bound on FilterLogEvents pages per filterServiceLogs call. */
export const DEFAULT_MAX_PAGES = 10;
/** GetLogEvents returns at most 10 000 events. */
const MAX_EVENTS_PER_GET = 10_000;
const NOT_FOUND = 'ResourceNotFoundException';

export interface LogLine {
  at: Date;
  stream: string;
  /** The task id from the stream name (`<prefix>/<container>/<task id>`), when it has that shape. */
  taskId: string | undefined;
  /** Without the trailing newline. */
  message: string;
}

/** Where a container's awslogs driver writes. */
export interface AwsLogsLocation {
  group: string;
  /** `awslogs-region`; undefined = the client's default region. */
  region: string | undefined;
  /** `awslogs-stream-prefix`; without it stream names carry the container runtime id and cannot be derived. */
  streamPrefix: string | undefined;
  container: string;
}

/** The awslogs location of a container definition, or undefined when it logs elsewhere (or nowhere). */
export const awsLogsLocation = (container: ContainerDefinition): AwsLogsLocation | undefined => {
  const config = container.logConfiguration;
  if (config?.logDriver !== 'awslogs') return undefined;
  const group = config.options?.['awslogs-group'];
  if (!group) return undefined;
  return {
    group,
    region: config.options?.['awslogs-region'] || undefined,
    streamPrefix: config.options?.['awslogs-stream-prefix'] || undefined,
    container: container.name ?? '',
  };
};

/** "ecs/app/0123…": the stream ECS creates for a task's container. */
export const awsLogsStreamName = (streamPrefix: string, container: string, taskId: string): string =>
  `${streamPrefix}/${container}/${taskId}`;

const taskIdOfStream = (stream: string): string | undefined => {
  const parts = stream.split('/');
  return parts.length >= 3 ? parts.at(-1) : undefined;
};

// ---------------------------------------------------------------------------------------------------------------

export interface TailLogStreamsOptions {
  logs: CloudWatchLogsClient;
  group: string;
  streams: readonly string[];
  /** Newest lines wanted across all streams. */
  limit: number;
}

/** The newest `limit` lines across `streams`, oldest first. One GetLogEvents per stream, one after another. */
export const tailLogStreams = async (options: TailLogStreamsOptions): Promise<LogLine[]> => {
  const { logs, group, limit } = options;
  if (limit <= 0) return [];
  const lines: LogLine[] = [];
  for (const stream of new Set(options.streams)) {
    let events: OutputLogEvent[];
    try {
      const out = await logs.send(
        new (logsSdk().GetLogEventsCommand)({
          logGroupName: group,
          logStreamName: stream,
          startFromHead: false,
          limit: Math.min(limit, MAX_EVENTS_PER_GET),
        }),
      );
      events = out.events ?? [];
    } catch (error) {
      if (errorName(error) === NOT_FOUND) continue;
      throw new AwsError(`read log stream ${stream} of log group ${group}`, error);
    }
    for (const e of events) lines.push(toLine(stream, e.timestamp, e.message));
  }
  return newest(lines, limit);
};

export interface FilterServiceLogsOptions {
  logs: CloudWatchLogsClient;
  group: string;
  /** `awslogs-stream-prefix`; without it (or without taskIds) the search covers the container's or group's streams. */
  streamPrefix: string | undefined;
  container: string;
  /** Only these tasks' streams; undefined = every task of the container. */
  taskIds?: readonly string[] | undefined;
  startTime: Date;
  endTime?: Date | undefined;
  /** A CloudWatch Logs filter pattern. */
  pattern?: string | undefined;
  /** Newest lines kept. */
  limit: number;
  /** Bound on FilterLogEvents calls; default DEFAULT_MAX_PAGES. */
  maxPages?: number | undefined;
}

export interface FilteredLogs {
  /** The newest `limit` matching lines found, oldest first. */
  lines: LogLine[];
  /** True when `maxPages` ran out before the window was searched completely (newer lines may exist). */
  truncated: boolean;
}

/** Lines of a container's tasks in a time window (FilterLogEvents), the newest `limit` of them in time order. */
export const filterServiceLogs = async (options: FilterServiceLogsOptions): Promise<FilteredLogs> => {
  const { logs, group, streamPrefix, container, limit } = options;
  const maxPages = options.maxPages ?? DEFAULT_MAX_PAGES;
  if (limit <= 0 || options.taskIds?.length === 0) return { lines: [], truncated: false };

  // Which streams: named ones (100 a call), or every stream under the container's prefix, or the whole group.
  const selections: ({ logStreamNames: string[] } | { logStreamNamePrefix: string } | Record<string, never>)[] = [];
  if (options.taskIds !== undefined && streamPrefix !== undefined) {
    const names = [...new Set(options.taskIds)].map((id) => awsLogsStreamName(streamPrefix, container, id));
    for (let i = 0; i < names.length; i += STREAMS_PER_FILTER) {
      selections.push({ logStreamNames: names.slice(i, i + STREAMS_PER_FILTER) });
    }
  } else if (streamPrefix !== undefined) {
    selections.push({ logStreamNamePrefix: `${streamPrefix}/${container}/` });
  } else {
    selections.push({});
  }

  const lines: LogLine[] = [];
  let pages = 0;
  let truncated = false;
  for (const selection of selections) {
    let nextToken: string | undefined;
    do {
      if (pages >= maxPages) {
        truncated = true;
        break;
      }
      pages++;
      let events: FilteredLogEvent[];
      try {
        const out = await logs.send(
          new (logsSdk().FilterLogEventsCommand)({
            logGroupName: group,
            ...selection,
            startTime: options.startTime.getTime(),
            ...(options.endTime === undefined ? {} : { endTime: options.endTime.getTime() }),
            ...(options.pattern === undefined || options.pattern === '' ? {} : { filterPattern: options.pattern }),
            ...(nextToken === undefined ? {} : { nextToken }),
          }),
        );
        events = out.events ?? [];
        nextToken = out.nextToken || undefined;
      } catch (error) {
        if (errorName(error) === NOT_FOUND) break;
        throw new AwsError(`search the logs of container ${container} in log group ${group}`, error);
      }
      for (const e of events) lines.push(toLine(e.logStreamName ?? '', e.timestamp, e.message));
      // Keep memory bounded on long windows: only the newest `limit` can be returned.
      if (lines.length > limit * 4) lines.splice(0, lines.length, ...newest(lines, limit));
    } while (nextToken);
  }
  return { lines: newest(lines, limit), truncated };
};

const toLine = (stream: string, timestamp: number | undefined, message: string | undefined): LogLine => ({
  at: new Date(timestamp ?? 0),
  stream,
  taskId: taskIdOfStream(stream),
  message: (message ?? '').replace(/\r?\n$/, ''),
});

/** The newest `limit` lines, oldest first (stable for equal timestamps). */
const newest = (lines: readonly LogLine[], limit: number): LogLine[] =>
  lines
    .map((line, index) => ({ line, index }))
    .sort((a, b) => a.line.at.getTime() - b.line.at.getTime() || a.index - b.index)
    .slice(-limit)
    .map(({ line }) => line);
