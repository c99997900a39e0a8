/**
 * The AWS SDK clients dockhand uses, one set per region, created on first use.
 *
 * Region, endpoint and credentials come from the SDK's own default chain (AWS_REGION, AWS_ENDPOINT_URL, profiles…);
 * nothing here reads the environment. Tests and the composition root may pass explicit values instead.
 * Every client retries in the SDK's standard mode (exponential backoff with jitter, throttling included), has
 * connection and request timeouts, and reports each HTTP attempt to `onCall` for the /metrics counters.
 *
 * EC2 is not an SDK client: dockhand makes one EC2 call (DescribeNetworkInterfaces, for public IPs), and importing
 * @aws-sdk/client-ec2, with the schemas of every EC2 operation, cost 91 MiB of RSS and 0.3 s. `Ec2QueryClient`
 * (ec2-query.ts) makes that call from the signing, credential, retry and HTTP pieces the other clients already load,
 * with the same options and the same `onCall` reports.
 */
import type { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type {
  FinalizeHandler,
  FinalizeHandlerArguments,
  FinalizeHandlerOutput,
  FinalizeRequestHandlerOptions,
  FinalizeRequestMiddleware,
  HandlerExecutionContext,
  MetadataBearer,
  MiddlewareStack,
  Pluggable,
  RelativeMiddlewareOptions,
} from '@smithy/types';
import { errorName } from '../../errors.ts';
import { type Ec2Api, Ec2QueryClient } from './ec2-query.ts';
import { useLeanJsonReads } from './lean-json.ts';
import { autoScalingSdk, cloudWatchSdk, ecrSdk, ecsSdk, elbv2Sdk, logsSdk, route53Sdk } from './sdk.ts';

/** One HTTP attempt of an AWS operation (a call retried twice reports three attempts). */
export interface AwsCallEvent {
  /** ECS, ECR, CloudWatchLogs, EC2, Route53, ApplicationAutoScaling, ELBv2, CloudWatch. */
  service: AwsServiceName;
  /** The API operation: DescribeServices, ListTasks… */
  operation: string;
  /** 1 for the first try, 2 for the first retry… */
  attempt: number;
  ok: boolean;
  /** The SDK exception name when the attempt failed (ThrottlingException, AccessDeniedException, TimeoutError…). */
  errorName?: string | undefined;
  durationMs: number;
}

export type AwsServiceName =
  | 'ECS'
  | 'ECR'
  | 'CloudWatchLogs'
  | 'EC2'
  | 'Route53'
  | 'ApplicationAutoScaling'
  | 'ELBv2'
  | 'CloudWatch';

export interface AwsClientsOptions {
  /** Default region; undefined = the SDK's default chain (AWS_REGION, profile). */
  region?: string | undefined;
  /** Endpoint override for every service (a fake AWS in tests); undefined = the SDK's chain (AWS_ENDPOINT_URL). */
  endpoint?: string | undefined;
  /** Attempts per call including the first (SDK standard retry mode); default 5. */
  maxAttempts?: number | undefined;
  /** Milliseconds a whole request/response may take; default 10 000. */
  requestTimeoutMs?: number | undefined;
  /** Milliseconds to establish a connection; default 3 000. */
  connectionTimeoutMs?: number | undefined;
  /** Called after every HTTP attempt; must not throw (errors it throws are ignored). */
  onCall?: ((event: AwsCallEvent) => void) | undefined;
  /** Monotonic milliseconds, for durations; default performance.now. */
  now?: (() => number) | undefined;
}

export interface AwsClientSet {
  readonly region: string | undefined;
  readonly ecs: ECSClient;
  readonly ecr: ECRClient;
  readonly logs: CloudWatchLogsClient;
  readonly ec2: Ec2Api;
  /** Route 53 is global: its client signs for us-east-1 when the region is not known. */
  readonly route53: Route53Client;
  /** Scalable targets of ECS services (`ecs:service:DesiredCount`). */
  readonly autoScaling: ApplicationAutoScalingClient;
  /** Target groups' target health. */
  readonly elbv2: ElasticLoadBalancingV2Client;
  /** Alarms named by a service's deployment configuration. */
  readonly cloudWatch: CloudWatchClient;
}

export interface AwsClients {
  /** The clients for `region` (undefined = the default region); the same objects on every call. */
  forRegion(region?: string): AwsClientSet;
  /** Closes every client's sockets. */
  destroy(): void;
}

/** The name under which every AWS SDK client adds its logger middleware (@aws-sdk/core loggerMiddlewareOptions). */
const SDK_LOGGER_MIDDLEWARE = 'loggerMiddleware';

export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 3_000;

export const createAwsClients = (options: AwsClientsOptions = {}): AwsClients => {
  const sets = new Map<string, ClientSetCache>();

  const baseConfig = (region: string | undefined) => ({
    ...(region === undefined ? {} : { region }),
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    retryMode: 'standard',
    maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      // Without this the SDK only logs a warning when requestTimeout passes.
      throwOnRequestTimeout: true,
    },
  });

  return {
    forRegion(region?: string): AwsClientSet {
      const resolved = region ?? options.region;
      const key = resolved ?? '';
      let set = sets.get(key);
      if (!set) {
        set = new ClientSetCache(resolved, (r, service) => {
          const config = baseConfig(r);
          const { onCall, now } = options;
          const prepare = <C extends SdkClient>(client: C): C => {
            // The SDK's logger middleware deep-copies every response through its schema, to mask sensitive fields
            // for a log line, even when no logger is configured (its no-op logger still has `info`): at 1,000
            // services that was over 50 MiB allocated per watch tick (bench:watch). dockhand logs AWS calls itself.
            // Every SDK client's stack has the same shape; only the operation types differ (a union of eight
            // clients' stacks is too complex for the compiler), and our middleware reads no operation's fields.
            const stack = client.middlewareStack as unknown as MiddlewareStack<object, MetadataBearer>;
            stack.remove(SDK_LOGGER_MIDDLEWARE);
            if (onCall) stack.use(callCounterPlugin(service, onCall, now));
            return client;
          };
          switch (service) {
            case 'ECS': {
              // The bulk reads (the watch, /status) skip the SDK's per-member copy of each answer: lean-json.ts.
              return prepare(useLeanJsonReads(new (ecsSdk().ECSClient)(config)));
            }
            case 'ECR': {
              return prepare(new (ecrSdk().ECRClient)(config));
            }
            case 'CloudWatchLogs': {
              return prepare(new (logsSdk().CloudWatchLogsClient)(config));
            }
            case 'Route53': {
              return prepare(new (route53Sdk().Route53Client)({ ...config, region: r ?? 'us-east-1' }));
            }
            case 'ApplicationAutoScaling': {
              return prepare(new (autoScalingSdk().ApplicationAutoScalingClient)(config));
            }
            case 'ELBv2': {
              return prepare(new (elbv2Sdk().ElasticLoadBalancingV2Client)(config));
            }
            case 'CloudWatch': {
              return prepare(new (cloudWatchSdk().CloudWatchClient)(config));
            }
            case 'EC2':
              return new Ec2QueryClient({
                region: r,
                endpoint: options.endpoint,
                maxAttempts: config.maxAttempts,
                requestTimeoutMs: config.requestHandler.requestTimeout,
                connectionTimeoutMs: config.requestHandler.connectionTimeout,
                onCall,
                now,
              });
          }
        });
        sets.set(key, set);
      }
      return set;
    },
    destroy() {
      for (const set of sets.values()) set.destroy();
      sets.clear();
    },
  };
};

type SdkClient =
  | ECSClient
  | ECRClient
  | CloudWatchLogsClient
  | Route53Client
  | ApplicationAutoScalingClient
  | ElasticLoadBalancingV2Client
  | CloudWatchClient;
type AnyClient = SdkClient | Ec2Api;

/** Creates each client of a region on first access. */
class ClientSetCache implements AwsClientSet {
  readonly region: string | undefined;
  readonly #create: (region: string | undefined, service: AwsServiceName) => AnyClient;
  readonly #clients = new Map<AwsServiceName, AnyClient>();

  constructor(region: string | undefined, create: (region: string | undefined, service: AwsServiceName) => AnyClient) {
    this.region = region;
    this.#create = create;
  }

  get ecs(): ECSClient {
    return this.#get('ECS') as ECSClient;
  }
  get ecr(): ECRClient {
    return this.#get('ECR') as ECRClient;
  }
  get logs(): CloudWatchLogsClient {
    return this.#get('CloudWatchLogs') as CloudWatchLogsClient;
  }
  get ec2(): Ec2Api {
    return this.#get('EC2') as Ec2Api;
  }
  get route53(): Route53Client {
    return this.#get('Route53') as Route53Client;
  }
  get autoScaling(): ApplicationAutoScalingClient {
    return this.#get('ApplicationAutoScaling') as ApplicationAutoScalingClient;
  }
  get elbv2(): ElasticLoadBalancingV2Client {
    return this.#get('ELBv2') as ElasticLoadBalancingV2Client;
  }
  get cloudWatch(): CloudWatchClient {
    return this.#get('CloudWatch') as CloudWatchClient;
  }

  destroy(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }

  #get(service: AwsServiceName): AnyClient {
    let client = this.#clients.get(service);
    if (!client) {
      client = this.#create(this.region, service);
      this.#clients.set(service, client);
    }
    return client;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Call counting

const ATTEMPT_HEADER = 'amz-sdk-request';

/**
 * A finalizeRequest middleware that sits right inside the SDK's retry loop, so it sees every attempt (including the
 * ones that are retried) with its own duration and outcome. Exported for direct tests.
 */
export const callCounterMiddleware =
  <Input extends object, Output extends MetadataBearer>(
    service: AwsServiceName,
    onCall: (event: AwsCallEvent) => void,
    now: () => number = () => performance.now(),
  ): FinalizeRequestMiddleware<Input, Output> =>
  (next: FinalizeHandler<Input, Output>, context: HandlerExecutionContext) =>
  async (args: FinalizeHandlerArguments<Input>): Promise<FinalizeHandlerOutput<Output>> => {
    const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    const attempt = attemptOf(args.request);
    const started = now();
    const report = (ok: boolean, error?: unknown) => {
      try {
        onCall({
          service,
          operation,
          attempt,
          ok,
          ...(ok ? {} : { errorName: errorName(error) }),
          durationMs: now() - started,
        });
      } catch {
        // A metrics hook must never fail an AWS call.
      }
    };
    try {
      const result = await next(args);
      report(true);
      return result;
    } catch (error) {
      report(false, error);
      throw error;
    }
  };

export const callCounterMiddlewareOptions: FinalizeRequestHandlerOptions & RelativeMiddlewareOptions = {
  name: 'dockhandCallCounter',
  step: 'finalizeRequest',
  relation: 'after',
  toMiddleware: 'retryMiddleware',
  override: true,
};

export const callCounterPlugin = <Input extends object, Output extends MetadataBearer>(
  service: AwsServiceName,
  onCall: (event: AwsCallEvent) => void,
  now?: () => number,
): Pluggable<Input, Output> => ({
  applyToStack(stack) {
    stack.addRelativeTo(callCounterMiddleware<Input, Output>(service, onCall, now), callCounterMiddlewareOptions);
  },
});

/** The retry middleware writes `amz-sdk-request: attempt=2; max=5` on each attempt. */
const attemptOf = (request: unknown): number => {
  if (request && typeof request === 'object' && 'headers' in request) {
    const headers = request.headers as Record<string, string | undefined>;
    const match = /attempt=(\d+)/.exec(headers[ATTEMPT_HEADER] ?? '');
    if (match?.[1]) return Number(match[1]);
  }
  return 1;
};
