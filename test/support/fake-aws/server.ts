import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseQueryParams, xmlEscape } from './ec2.ts';
import { ELBV2_NS, ELBV2_VERSION } from './elbv2.ts';
import { AwsError } from './errors.ts';
import type { FakeAws } from './fake-aws.ts';
import type { AwsServiceName, HealthStatus, JsonObject, TargetHealthState } from './model.ts';
import { ROUTE53_NS, route53Route } from './route53.ts';

const TARGETS: Record<string, AwsServiceName> = {
  AmazonEC2ContainerServiceV20141113: 'ECS',
  AmazonEC2ContainerRegistry_V20150921: 'ECR',
  Logs_20140328: 'Logs',
  GraniteServiceVersion20100801: 'CloudWatch',
  AnyScaleFrontendService: 'ApplicationAutoScaling',
};
const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** Dates become epoch seconds (the JSON protocols' timestamp format); undefined members are dropped. */
export function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  return value;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: JsonObject = {}) {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    ...(headers as Record<string, string>),
  });
  res.end(body);
}

function sendJsonError(fake: FakeAws, res: ServerResponse, err: AwsError) {
  const requestId = fake.nextRequestId();
  send(res, err.status, 'application/x-amz-json-1.1', JSON.stringify({ __type: err.code, message: err.message }), {
    'x-amzn-requestid': requestId,
    'x-amzn-errortype': err.code,
  });
}

/**
 * CloudWatch speaks AWS JSON 1.0 with awsQuery compatibility: a namespaced `__type`, and the query-protocol error
 * code and fault in `x-amzn-query-error` (what SDKs built for the old query protocol still read).
 */
function sendJson10Error(fake: FakeAws, res: ServerResponse, err: AwsError) {
  const body = JSON.stringify({ __type: `com.amazonaws.cloudwatch#${err.code}`, message: err.message });
  send(res, err.status, 'application/x-amz-json-1.0', body, {
    'x-amzn-requestid': fake.nextRequestId(),
    'x-amzn-query-error': `${err.code};${err.status >= 500 ? 'Receiver' : 'Sender'}`,
  });
}

function sendXmlError(fake: FakeAws, res: ServerResponse, err: AwsError) {
  const requestId = fake.nextRequestId();
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Response><Errors><Error><Code>${xmlEscape(err.code)}</Code><Message>${xmlEscape(err.message)}</Message></Error></Errors>` +
    `<RequestID>${requestId}</RequestID></Response>`;
  send(res, err.status, 'text/xml;charset=UTF-8', body);
}

function asAwsError(err: unknown): AwsError {
  if (err instanceof AwsError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new AwsError('InternalFailure', `fake-aws internal error: ${message}`, 500);
}

async function handleJson(fake: FakeAws, req: IncomingMessage, res: ServerResponse, target: string) {
  const dot = target.indexOf('.');
  const service = TARGETS[target.slice(0, dot)];
  const op = target.slice(dot + 1);
  const body = await readBody(req);
  if (!service || dot < 0) {
    sendJsonError(fake, res, new AwsError('UnknownOperationException', `Unknown target ${target}`));
    return;
  }
  const json10 = service === 'CloudWatch';
  const contentType = json10 ? 'application/x-amz-json-1.0' : 'application/x-amz-json-1.1';
  const sendError = json10 ? sendJson10Error : sendJsonError;
  if (json10 && req.headers['content-type'] !== contentType) {
    // CloudWatch's JSON protocol is 1.0: a 1.1 (or query) body is not understood.
    sendError(fake, res, new AwsError('UnknownOperationException', `Expected content-type ${contentType}.`));
    return;
  }
  let input: JsonObject;
  try {
    const parsed: unknown = body.trim() === '' ? {} : JSON.parse(body);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    input = parsed as JsonObject;
  } catch {
    sendError(fake, res, new AwsError('SerializationException', 'Request body is not a JSON object.'));
    return;
  }
  try {
    const out = fake.invoke(service, op, input);
    const delay = fake.answerDelay(`${service}.${op}`);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    send(res, 200, contentType, JSON.stringify(toWire(out ?? {})), {
      'x-amzn-requestid': fake.nextRequestId(),
    });
  } catch (err) {
    sendError(fake, res, asAwsError(err));
  }
}

/** Route 53, REST-XML: the operation from the method and path; errors as `<ErrorResponse>` with the HTTP status. */
async function handleRoute53(fake: FakeAws, req: IncomingMessage, res: ServerResponse, url: URL) {
  const body = await readBody(req);
  const requestId = fake.nextRequestId();
  const route = route53Route(req.method ?? 'GET', url, body);
  try {
    if (!route)
      throw new AwsError('UnknownOperationException', `No Route 53 operation at ${req.method} ${url.pathname}`, 404);
    const inner = fake.invoke('Route53', route.op, route.input) as string;
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<${route.op}Response xmlns="${ROUTE53_NS}">${inner}</${route.op}Response>`;
    send(res, 200, 'text/xml', xml, { 'x-amzn-requestid': requestId });
  } catch (err) {
    const e = asAwsError(err);
    const type = e.status >= 500 ? 'Receiver' : 'Sender';
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${ROUTE53_NS}"><Error><Type>${type}</Type>` +
      `<Code>${xmlEscape(e.code)}</Code><Message>${xmlEscape(e.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
    send(res, e.status, 'text/xml', xml, { 'x-amzn-requestid': requestId });
  }
}

/** The service a query-protocol request is for: ELBv2 by its API version or its signing scope, else EC2. */
function queryService(req: IncomingMessage, params: URLSearchParams): 'EC2' | 'ELBv2' {
  if (params.get('Version') === ELBV2_VERSION) return 'ELBv2';
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /Credential=[^,]*\/elasticloadbalancing\/aws4_request/.test(auth)) return 'ELBv2';
  return 'EC2';
}

/** ELBv2, query protocol: `<{Action}Response><{Action}Result>…`; errors as `<ErrorResponse>` with the HTTP status. */
async function handleElbv2(fake: FakeAws, res: ServerResponse, action: string | null, params: URLSearchParams) {
  const requestId = fake.nextRequestId();
  try {
    if (!action) throw new AwsError('MissingAction', 'The request must contain the parameter Action');
    const inner = fake.invoke('ELBv2', action, parseQueryParams(params)) as string;
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n' +
      `<${action}Response xmlns="${ELBV2_NS}"><${action}Result>${inner}</${action}Result>` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
    send(res, 200, 'text/xml', xml, { 'x-amzn-requestid': requestId });
  } catch (err) {
    const e = asAwsError(err);
    const type = e.status >= 500 ? 'Receiver' : 'Sender';
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${ELBV2_NS}"><Error><Type>${type}</Type>` +
      `<Code>${xmlEscape(e.code)}</Code><Message>${xmlEscape(e.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
    send(res, e.status, 'text/xml', xml, { 'x-amzn-requestid': requestId });
  }
}

async function handleQuery(fake: FakeAws, req: IncomingMessage, res: ServerResponse) {
  const body = await readBody(req);
  const params = new URLSearchParams(body);
  const action = params.get('Action');
  if (queryService(req, params) === 'ELBv2') return handleElbv2(fake, res, action, params);
  if (!action) {
    sendXmlError(fake, res, new AwsError('MissingAction', 'The request must contain the parameter Action'));
    return;
  }
  try {
    send(res, 200, 'text/xml;charset=UTF-8', ec2Answer(fake, action, parseQueryParams(params)));
  } catch (err) {
    sendXmlError(fake, res, asAwsError(err));
  }
}

/** The XML body of a successful EC2 answer (bench/ec2-xml.ts parses the same). */
export function ec2Answer(fake: FakeAws, action: string, input: JsonObject): string {
  const inner = fake.invoke('EC2', action, input) as string;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<${action}Response xmlns="${EC2_NS}"><requestId>${fake.nextRequestId()}</requestId>${inner}</${action}Response>`
  );
}

function str(cmd: JsonObject, key: string): string {
  const v = cmd[key];
  if (typeof v !== 'string') throw new Error(`control: ${key} (string) is required`);
  return v;
}

/** POST /_fake/control commands. */
function control(fake: FakeAws, cmd: JsonObject): unknown {
  const opt = (key: string) => (typeof cmd[key] === 'string' ? (cmd[key] as string) : undefined);
  const num = (key: string) => (typeof cmd[key] === 'number' ? (cmd[key] as number) : undefined);
  switch (cmd.op) {
    case 'step':
      fake.step(num('count') ?? 1);
      return {};
    case 'failNextRollout': {
      const reason = opt('reason');
      const stoppedReason = opt('stoppedReason');
      const exitCode = num('exitCode');
      const threshold = num('threshold');
      fake.failNextRollout(str(cmd, 'cluster'), str(cmd, 'service'), {
        ...(reason !== undefined ? { reason } : {}),
        ...(stoppedReason !== undefined ? { stoppedReason } : {}),
        ...(exitCode !== undefined ? { exitCode } : {}),
        ...(threshold !== undefined ? { threshold } : {}),
      });
      return {};
    }
    case 'stopTask': {
      const reason = opt('reason');
      const exitCode = num('exitCode');
      const t = fake.stopTask(str(cmd, 'taskArn'), {
        ...(reason !== undefined ? { reason } : {}),
        ...(exitCode !== undefined ? { exitCode } : {}),
      });
      return { taskArn: t.arn };
    }
    case 'setTaskHealth':
      fake.setTaskHealth(str(cmd, 'taskArn'), str(cmd, 'health') as HealthStatus);
      return {};
    case 'replaceTasks':
      return { taskArns: fake.replaceTasks(str(cmd, 'cluster'), str(cmd, 'service')).map((t) => t.arn) };
    case 'faults':
      fake.faults(cmd.config === null ? null : ((cmd.config ?? cmd) as Parameters<FakeAws['faults']>[0]));
      return {};
    case 'putImage': {
      const img = fake.putImage(str(cmd, 'repository'), str(cmd, 'tag'), opt('digest'));
      return { digest: img.digest };
    }
    case 'putScanFindings': {
      const scan = fake.putScanFindings(str(cmd, 'repository'), str(cmd, 'digest'), {
        ...(typeof cmd.counts === 'object' && cmd.counts !== null
          ? { counts: cmd.counts as Record<string, number> }
          : {}),
        ...(opt('status') ? { status: opt('status') as 'COMPLETE' | 'FAILED' | 'UNSUPPORTED_IMAGE' } : {}),
        ...(typeof cmd.inProgressCalls === 'number' ? { inProgressCalls: cmd.inProgressCalls } : {}),
      });
      return { status: scan.status };
    }
    case 'putLogEvents':
      fake.putLogEvents(str(cmd, 'group'), str(cmd, 'stream'), (cmd.events ?? []) as Array<{ message: string }>);
      return {};
    case 'setEcrProxyEndpoint':
      fake.setEcrProxyEndpoint(str(cmd, 'url'));
      return {};
    case 'setAutoStep':
      fake.autoStep = str(cmd, 'mode') === 'manual' ? 'manual' : 'onDescribe';
      return {};
    case 'disableServiceDeployments':
      fake.disableServiceDeployments(opt('code'));
      return {};
    case 'enableServiceDeployments':
      fake.enableServiceDeployments();
      return {};
    case 'putHostedZone': {
      const id = opt('id');
      return { id: id === undefined ? fake.putHostedZone(str(cmd, 'name')) : fake.putHostedZone(str(cmd, 'name'), id) };
    }
    case 'putAlarm': {
      const state = opt('state') as 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' | undefined;
      const reason = opt('reason');
      fake.putAlarm(str(cmd, 'name'), {
        ...(state !== undefined ? { state } : {}),
        ...(reason !== undefined ? { reason } : {}),
      });
      return {};
    }
    case 'setAlarmState':
      fake.setAlarmState(
        str(cmd, 'name'),
        str(cmd, 'state') as 'OK' | 'ALARM' | 'INSUFFICIENT_DATA',
        opt('reason') ?? `Set to ${str(cmd, 'state')} by a test`,
      );
      return {};
    case 'putScalableTarget': {
      const bounds = { min: num('min') ?? 1, max: num('max') ?? 1 };
      return { arn: fake.putScalableTarget(str(cmd, 'cluster'), str(cmd, 'service'), bounds).arn };
    }
    case 'putScalingPolicy':
      fake.putScalingPolicy(
        str(cmd, 'cluster'),
        str(cmd, 'service'),
        cmd.policy as Parameters<FakeAws['putScalingPolicy']>[2],
      );
      return {};
    case 'putScalingActivity':
      fake.putScalingActivity(
        str(cmd, 'cluster'),
        str(cmd, 'service'),
        cmd.activity as Parameters<FakeAws['putScalingActivity']>[2],
      );
      return {};
    case 'failNewTargets': {
      const reason = opt('reason');
      const description = opt('description');
      fake.failNewTargets(str(cmd, 'targetGroup'), {
        ...(reason !== undefined ? { reason } : {}),
        ...(description !== undefined ? { description } : {}),
      });
      return {};
    }
    case 'healTargets':
      fake.healTargets(str(cmd, 'targetGroup'));
      return {};
    case 'setTargetHealth': {
      const reason = opt('reason');
      const description = opt('description');
      const changed = fake.setTargetHealth(str(cmd, 'taskArn'), str(cmd, 'state') as TargetHealthState, {
        ...(reason !== undefined ? { reason } : {}),
        ...(description !== undefined ? { description } : {}),
      });
      return { changed };
    }
    case 'seedService': {
      const seeded = fake.seedService(cmd.options as Parameters<FakeAws['seedService']>[0]);
      return { serviceArn: seeded.service.arn, taskDefinitionArn: seeded.taskDefinition.arn };
    }
    default:
      throw new Error(`control: unknown op ${String(cmd.op)}`);
  }
}

/** A JSON snapshot of the ECS state for tests in another process. */
function snapshot(fake: FakeAws): unknown {
  return toWire({
    services: [...fake.services.values()].map((s) => ({
      ...s,
      runningCount: fake.counts(s).running,
      pendingCount: fake.counts(s).pending,
    })),
    tasks: [...fake.tasks.values()].map((t) => ({ ...t, publicIp: fake.enis.get(t.eniId)?.publicIp })),
    taskDefinitions: [...fake.taskDefinitions.values()].flat(),
    targetGroups: [...fake.targetGroups.values()],
    hostedZones: [...fake.hostedZones.values()].map((z) => ({
      id: z.id,
      name: z.name,
      records: [...z.records.values()],
    })),
    alarms: [...fake.alarms.values()],
  });
}

async function handleFake(fake: FakeAws, req: IncomingMessage, res: ServerResponse, path: string) {
  const json = (status: number, body: unknown) => send(res, status, 'application/json', JSON.stringify(body));
  try {
    if (req.method === 'GET' && path === '/_fake/calls') {
      return json(200, { calls: fake.calls, requests: fake.requests });
    }
    if (req.method === 'GET' && path === '/_fake/state') return json(200, snapshot(fake));
    if (req.method === 'POST' && path === '/_fake/reset-calls') {
      await readBody(req);
      fake.resetCalls();
      return json(200, { ok: true });
    }
    if (req.method === 'POST' && path === '/_fake/control') {
      const body = await readBody(req);
      const cmd = JSON.parse(body || '{}') as JsonObject;
      return json(200, { ok: true, result: toWire(control(fake, cmd)) });
    }
    return json(404, { ok: false, error: `no such fake endpoint ${req.method} ${path}` });
  } catch (err) {
    return json(400, { ok: false, error: err instanceof Error ? err.message : String(err) });
  }
}

async function handle(fake: FakeAws, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const path = url.pathname;
  if (path.startsWith('/_fake/')) return handleFake(fake, req, res, path);
  if (path.startsWith('/2013-04-01/')) return handleRoute53(fake, req, res, url);
  if (req.method !== 'POST') {
    await readBody(req);
    return send(res, 404, 'text/plain', 'fake-aws: AWS requests are POSTs');
  }
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return handleJson(fake, req, res, target);
  return handleQuery(fake, req, res);
}

export async function startServer(fake: FakeAws): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    handle(fake, req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, 'text/plain', String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}` };
}
