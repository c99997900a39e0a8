/**
 * A small EC2 client for dockhand's two EC2 calls: DescribeNetworkInterfaces (public IPs of ECS tasks with an ENI)
 * and DescribeInstances (public IPs of the container instances EC2-launch-type tasks run on).
 *
 * @aws-sdk/client-ec2 carries the schemas of every EC2 operation: importing it cost 91 MiB of RSS and 0.3 s, for
 * one call. This speaks the EC2 query protocol itself (form-encoded POST, XML answer) from the pieces the other AWS
 * clients already load: SigV4 signing (@smithy/signature-v4), the default credential chain
 * (@aws-sdk/credential-provider-node), the region chain (@smithy/core/config), the SDK's standard retry strategy
 * (@smithy/core/retry: bounded attempts, exponential backoff with jitter, a longer base for throttling), the same
 * HTTP handler with the same timeouts. The XML is read by query-xml.ts: the SDK's own parser (@aws-sdk/xml-builder)
 * allocated 44 MiB for an answer of 1,000 ENIs.
 *
 * Failures are thrown as `Ec2ServiceError`, named after the EC2 error code (RequestLimitExceeded,
 * InvalidNetworkInterfaceID.NotFound, UnauthorizedOperation…), as the SDK names its exceptions, so `AwsError` and
 * `errorName` treat them like any other AWS error. Every HTTP attempt is reported to `onCall`, like the SDK clients'
 * call counter does.
 */
import { createHash, createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import type { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentityProvider, Checksum, RetryErrorType, SourceData } from '@smithy/types';
import type { AwsCallEvent } from './clients.ts';
import { parseQueryXml } from './query-xml.ts';

const require = createRequire(import.meta.url);

/** The library pieces, loaded when the first client is made (a dockhand without ECS targets never loads them). */
const lib = () => ({
  ...(require('@aws-sdk/credential-provider-node') as typeof import('@aws-sdk/credential-provider-node')),
  ...(require('@smithy/core/config') as typeof import('@smithy/core/config')),
  ...(require('@smithy/core/protocols') as typeof import('@smithy/core/protocols')),
  ...(require('@smithy/core/retry') as typeof import('@smithy/core/retry')),
  ...(require('@smithy/node-http-handler') as typeof import('@smithy/node-http-handler')),
  ...(require('@smithy/signature-v4') as typeof import('@smithy/signature-v4')),
});
type Lib = ReturnType<typeof lib>;
type StandardRetryStrategy = InstanceType<Lib['StandardRetryStrategy']>;

export const EC2_API_VERSION = '2016-11-15';

export interface NetworkInterface {
  networkInterfaceId: string;
  /** null = no public IP (a private subnet). */
  publicIp: string | null;
}

export interface Instance {
  instanceId: string;
  /** null = no public IP. */
  publicIp: string | null;
  privateIp: string | null;
}

/** What dockhand needs of EC2 (a port narrow enough for a hand-written fake). */
export interface Ec2Api {
  /** The ENIs named by `ids`, all pages; an unknown id fails the call with InvalidNetworkInterfaceID.NotFound. */
  describeNetworkInterfaces(ids: readonly string[]): Promise<NetworkInterface[]>;
  /** The instances named by `ids`, all pages; an unknown id fails the call with InvalidInstanceID.NotFound. */
  describeInstances(ids: readonly string[]): Promise<Instance[]>;
  destroy(): void;
}

export interface Ec2QueryClientOptions {
  /** undefined = the SDK's region chain (AWS_REGION, profile). */
  region?: string | undefined;
  /** undefined = https://ec2.<region>.amazonaws.com. */
  endpoint?: string | undefined;
  maxAttempts: number;
  requestTimeoutMs: number;
  connectionTimeoutMs: number;
  /** undefined = the SDK's default chain (env, profile, SSO, web identity, container, instance metadata). */
  credentials?: AwsCredentialIdentityProvider | undefined;
  onCall?: ((event: AwsCallEvent) => void) | undefined;
  now?: (() => number) | undefined;
}

/** An EC2 error answer (`<Response><Errors><Error><Code>…`), named after its code like the SDK's exceptions. */
export class Ec2ServiceError extends Error {
  readonly $metadata: { httpStatusCode: number; requestId?: string | undefined };

  constructor(code: string, message: string, status: number, requestId?: string) {
    super(message);
    this.name = code;
    this.$metadata = { httpStatusCode: status, requestId };
  }
}

/** Pages are bounded by EC2 itself; this only stops a server that keeps sending the same token. */
const MAX_PAGES = 100;

export class Ec2QueryClient implements Ec2Api {
  readonly #options: Ec2QueryClientOptions;
  readonly #lib: Lib;
  readonly #http: NodeHttpHandler;
  readonly #retry: StandardRetryStrategy;
  readonly #credentials: AwsCredentialIdentityProvider;
  #region: Promise<string> | undefined;

  constructor(options: Ec2QueryClientOptions) {
    this.#options = options;
    this.#lib = lib();
    const { NodeHttpHandler, StandardRetryStrategy, defaultProvider } = this.#lib;
    this.#http = new NodeHttpHandler({
      connectionTimeout: options.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      throwOnRequestTimeout: true,
    });
    this.#retry = new StandardRetryStrategy(options.maxAttempts);
    this.#credentials = options.credentials ?? defaultProvider();
  }

  async describeNetworkInterfaces(ids: readonly string[]): Promise<NetworkInterface[]> {
    const result: NetworkInterface[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = new URLSearchParams({ Action: 'DescribeNetworkInterfaces', Version: EC2_API_VERSION });
      ids.forEach((id, i) => {
        params.set(`NetworkInterfaceId.${i + 1}`, id);
      });
      if (nextToken !== undefined) params.set('NextToken', nextToken);
      const body = (await this.#call('DescribeNetworkInterfaces', params)).DescribeNetworkInterfacesResponse;
      for (const item of listOf(field(body, 'networkInterfaceSet'))) {
        const id = text(field(item, 'networkInterfaceId'));
        if (id)
          result.push({
            networkInterfaceId: id,
            publicIp: text(field(field(item, 'association'), 'publicIp')) ?? null,
          });
      }
      nextToken = text(field(body, 'nextToken'));
      if (!nextToken) return result;
    }
    return result;
  }

  async describeInstances(ids: readonly string[]): Promise<Instance[]> {
    const result: Instance[] = [];
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const params = new URLSearchParams({ Action: 'DescribeInstances', Version: EC2_API_VERSION });
      ids.forEach((id, i) => {
        params.set(`InstanceId.${i + 1}`, id);
      });
      if (nextToken !== undefined) params.set('NextToken', nextToken);
      const body = (await this.#call('DescribeInstances', params)).DescribeInstancesResponse;
      for (const reservation of listOf(field(body, 'reservationSet'))) {
        for (const item of listOf(field(reservation, 'instancesSet'))) {
          const id = text(field(item, 'instanceId'));
          if (id)
            result.push({
              instanceId: id,
              publicIp: text(field(item, 'ipAddress')) ?? null,
              privateIp: text(field(item, 'privateIpAddress')) ?? null,
            });
        }
      }
      nextToken = text(field(body, 'nextToken'));
      if (!nextToken) return result;
    }
    return result;
  }

  destroy(): void {
    this.#http.destroy();
  }

  /** One operation, retried by the SDK's standard strategy; each attempt reported. */
  async #call(operation: string, params: URLSearchParams): Promise<Record<string, unknown>> {
    let token = await this.#retry.acquireInitialRetryToken('ec2');
    for (let attempt = 1; ; attempt++) {
      const started = this.#now();
      try {
        const answer = await this.#send(params, attempt);
        this.#report({ operation, attempt, ok: true, started });
        this.#retry.recordSuccess(token);
        return answer;
      } catch (error) {
        this.#report({ operation, attempt, ok: false, started, error });
        try {
          token = await this.#retry.refreshRetryTokenForRetry(token, { errorType: retryErrorType(this.#lib, error) });
        } catch {
          throw error;
        }
      }
    }
  }

  async #send(params: URLSearchParams, attempt: number): Promise<Record<string, unknown>> {
    const { HttpRequest, SignatureV4 } = this.#lib;
    const region = await this.#resolveRegion();
    const url = new URL(this.#options.endpoint ?? defaultEndpoint(region));
    const body = params.toString();
    const request = new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      headers: {
        host: url.host,
        'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
        'content-length': String(Buffer.byteLength(body)),
        'amz-sdk-request': `attempt=${attempt}; max=${this.#options.maxAttempts}`,
      },
      body,
    });
    const signer = new SignatureV4({ credentials: this.#credentials, region, service: 'ec2', sha256: Sha256 });
    const signed = await signer.sign(request);
    const { response } = await this.#http.handle(signed as InstanceType<Lib['HttpRequest']>);
    const xml = await readBody(response.body);
    const status = response.statusCode;
    const requestId = response.headers['x-amzn-requestid'];
    let parsed: Record<string, unknown>;
    try {
      parsed = parseQueryXml(xml);
    } catch {
      throw new Ec2ServiceError(status >= 500 ? 'InternalError' : 'UnknownError', `HTTP ${status}: not XML`, status);
    }
    if (status >= 300 || 'Response' in parsed) {
      const response = parsed.Response;
      const error = field(field(response, 'Errors'), 'Error');
      const first = Array.isArray(error) ? error[0] : error;
      throw new Ec2ServiceError(
        text(field(first, 'Code')) ?? `HTTP${status}`,
        text(field(first, 'Message')) ?? `HTTP ${status}`,
        status,
        text(field(response, 'RequestID')) ?? requestId,
      );
    }
    return parsed;
  }

  #resolveRegion(): Promise<string> {
    const { region } = this.#options;
    if (region !== undefined) return Promise.resolve(region);
    const { loadConfig, NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS } = this.#lib;
    this.#region ??= loadConfig(NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS)();
    return this.#region;
  }

  #now(): number {
    return this.#options.now?.() ?? performance.now();
  }

  #report(e: { operation: string; attempt: number; ok: boolean; started: number; error?: unknown }): void {
    try {
      this.#options.onCall?.({
        service: 'EC2',
        operation: e.operation,
        attempt: e.attempt,
        ok: e.ok,
        ...(e.ok ? {} : { errorName: e.error instanceof Error ? e.error.name : 'Error' }),
        durationMs: this.#now() - e.started,
      });
    } catch {
      // A metrics hook must never fail an AWS call.
    }
  }
}

const defaultEndpoint = (region: string): string =>
  `https://ec2.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`;

/** Throttling, 5xx and network failures are retried (as the SDK's standard mode does); the rest are not. */
const retryErrorType = (
  { isThrottlingError, isTransientError, isServerError }: Lib,
  error: unknown,
): RetryErrorType => {
  const e = error as Parameters<Lib['isThrottlingError']>[0];
  if (isThrottlingError(e)) return 'THROTTLING';
  if (isTransientError(e)) return 'TRANSIENT';
  if (isServerError(e)) return 'SERVER_ERROR';
  return 'CLIENT_ERROR';
};

/** SHA-256 (and HMAC-SHA-256 with a secret) in the shape SignatureV4 expects. */
class Sha256 implements Checksum {
  readonly #secret: SourceData | undefined;
  #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = this.#fresh();
  }
  update(data: Uint8Array | string): void {
    this.#hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {
    this.#hash = this.#fresh();
  }
  #fresh() {
    const secret = this.#secret;
    if (secret === undefined) return createHash('sha256');
    return createHmac('sha256', typeof secret === 'string' ? secret : toBuffer(secret));
  }
}

const toBuffer = (data: Exclude<SourceData, string>): Buffer =>
  ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);

const readBody = async (body: unknown): Promise<string> => {
  if (body === undefined || body === null) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
};

// parseQueryXml gives nested objects; an element repeated once is an object, more than once an array, and an empty
// element an empty string.
const field = (node: unknown, name: string): unknown =>
  node && typeof node === 'object' && !Array.isArray(node) ? (node as Record<string, unknown>)[name] : undefined;

const text = (node: unknown): string | undefined => (typeof node === 'string' && node !== '' ? node : undefined);

const listOf = (set: unknown): unknown[] => {
  const items = field(set, 'item');
  if (items === undefined) return [];
  return Array.isArray(items) ? items : [items];
};
