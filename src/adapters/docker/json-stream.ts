/**
 * Reading the engine's JSON-lines progress streams (build, push, pull).
 *
 * dockerode's `modem.followProgress` is not used: it throws from a data handler on a non-JSON line, reports a
 * destroyed stream as a normal end, and — like the engine's HTTP status — says nothing about failures, which
 * arrive as `errorDetail` lines inside a 200 response. Callers here decide what an error line means.
 */
import { DockhandError } from '../../errors.ts';

/** One line of a build/push/pull JSON stream. */
export interface EngineEvent {
  stream?: string;
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: { ID?: string; Tag?: string; Digest?: string; Size?: number };
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

/** The message of an error line, or undefined for other lines. */
export const eventError = (event: EngineEvent): string | undefined => {
  if (event.errorDetail === undefined && event.error === undefined) return undefined;
  return event.errorDetail?.message || event.error || 'unknown error';
};

/**
 * Calls `onEvent` for every line of `stream` until it ends. On abort the stream is destroyed (the engine cancels
 * the build or push when its client goes away) and the signal's reason is thrown. A line that is not JSON is
 * passed on as `{ stream: line }`.
 */
export const readEngineStream = async (
  stream: NodeJS.ReadableStream,
  onEvent: (event: EngineEvent) => void,
  signal?: AbortSignal,
): Promise<void> => {
  const destroy = () => (stream as { destroy?: (e?: Error) => void }).destroy?.();
  if (signal?.aborted) {
    destroy();
    signal.throwIfAborted();
  }
  signal?.addEventListener('abort', destroy, { once: true });
  let buffer = '';
  const line = (text: string) => {
    const trimmed = text.trim();
    if (trimmed.length === 0) return;
    let event: EngineEvent;
    try {
      event = JSON.parse(trimmed) as EngineEvent;
    } catch {
      event = { stream: `${text}\n` };
    }
    if (event && typeof event === 'object') onEvent(event);
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer | string>) {
      buffer += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        line(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    }
    line(buffer);
  } catch (e) {
    signal?.throwIfAborted();
    throw new DockhandError('docker', `the Docker engine's response broke off: ${(e as Error).message}`, { cause: e });
  } finally {
    signal?.removeEventListener('abort', destroy);
  }
  signal?.throwIfAborted();
};

/** An error thrown by dockerode/docker-modem when the engine could not be reached at all. */
export const isConnectionError = (e: unknown): boolean =>
  !!e &&
  typeof e === 'object' &&
  'code' in e &&
  typeof e.code === 'string' &&
  ['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'ENOTFOUND'].includes(e.code);

/** docker-modem's HTTP errors carry the engine's JSON `{ message }` in `json`, or a status text. */
export const engineErrorMessage = (e: unknown): string => {
  if (e && typeof e === 'object') {
    const json = 'json' in e ? (e.json as { message?: unknown } | null | undefined) : undefined;
    if (json && typeof json.message === 'string') return json.message;
    // Streaming endpoints (pull, push, build) leave json null and put the engine's words after the prefix:
    // "(HTTP code 500) server error - unauthorized: authentication required".
    const body = e instanceof Error ? /^\(HTTP code \d+\) .*? - (.+)$/s.exec(e.message)?.[1]?.trim() : undefined;
    if (body) return body;
    if ('reason' in e && typeof e.reason === 'string' && 'statusCode' in e)
      return `${String(e.statusCode)} ${e.reason}`;
    if (e instanceof Error) return e.message;
  }
  return String(e);
};

/** Splits "host:5000/repo/name:tag" (or "…@sha256:…") into the name and the tag; tag undefined when absent. */
export const splitImageRef = (ref: string): { name: string; tag: string | undefined } => {
  const at = ref.indexOf('@');
  if (at >= 0) return { name: ref.slice(0, at), tag: undefined };
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: undefined };
};
