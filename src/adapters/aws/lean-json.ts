/**
 * A cheaper reader for the ECS answers the watch and /status read in bulk, installed in the SDK's own protocol.
 *
 * The SDK turns a JSON answer into its output by walking the parsed JSON beside the operation's schema and copying
 * every structure into a new object, making schema objects and iterator results as it goes: for a DescribeTasks
 * answer of 100 tasks that is several times the JSON's own size in short-lived objects. At 1,000 services × 10 tasks
 * a watch tick allocated ~300 MiB, over half of it there (bench:watch, sampling heap profile), and that rate is what
 * makes V8 grow its young generation to the maximum.
 *
 * For the operations in LEAN_OPERATIONS, a successful answer is read here instead: JSON.parse, then only the members
 * the schema says need converting (timestamps: epoch seconds → Date, as the SDK does) are converted in place, along
 * paths worked out once per output schema. Members the SDK does not know stay on the objects (callers read only the
 * typed ones), and so does a member sent as null, which the SDK drops (ECS leaves absent members out; code that
 * copies members onward tests `== null`, as registrationInput does). Anything else goes to the SDK's reader
 * unchanged: errors, other operations, and any output whose schema holds a shape this reader does not convert
 * (blobs, big numbers, JSON strings, timestamps in another format), so a future SDK with such a member falls back
 * rather than returning it unconverted.
 * Signing, retries, errors and metadata remain the SDK's: only the body-to-object step is replaced.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** ECS operations read this way (their output names): the reads the watch, /status and /dockhand ips make in bulk. */
export const LEAN_OPERATIONS: ReadonlySet<string> = new Set([
  'DescribeServicesResponse',
  'DescribeTasksResponse',
  'ListTasksResponse',
  'DescribeTaskDefinitionResponse',
]);

/** What the schema says to do with a value: nothing, convert an epoch-seconds timestamp, or look inside. */
type Plan =
  | { kind: 'timestamp' }
  | { kind: 'struct'; members: [string, Plan][] }
  | { kind: 'list'; item: Plan }
  | { kind: 'map'; value: Plan };
/** undefined: nothing to convert below; null: a shape this reader does not handle. */
type Compiled = Plan | undefined | null;

/** The parts of @smithy/core's NormalizedSchema used here. */
interface Schema {
  getSchema(): unknown;
  isStructSchema(): boolean;
  isListSchema(): boolean;
  isMapSchema(): boolean;
  isTimestampSchema(): boolean;
  isBlobSchema(): boolean;
  isBigIntegerSchema(): boolean;
  isBigDecimalSchema(): boolean;
  isDocumentSchema(): boolean;
  isStringSchema(): boolean;
  getName(): string | undefined;
  getMergedTraits(): { mediaType?: string };
  getValueSchema(): Schema;
  structIterator(): Iterable<[string, Schema]>;
}

/** The SDK's JSON reader as the protocol holds it. */
export interface ShapeDeserializer {
  read(schema: unknown, data: Uint8Array | string): unknown;
  setSerdeContext(context: unknown): void;
}

/** smithy's timestamp schemas: 4 plain (the protocol's default, epoch seconds for JSON), 5 date-time, 6 http-date, 7 epoch. */
const DATE_TIME = 5;
const HTTP_DATE = 6;

const compile = (ns: Schema, seen: Map<unknown, Compiled>): Compiled => {
  const raw = ns.getSchema();
  if (typeof raw === 'object' && raw !== null && seen.has(raw)) return seen.get(raw);
  if (ns.isTimestampSchema()) return raw === DATE_TIME || raw === HTTP_DATE ? null : { kind: 'timestamp' };
  if (
    ns.isBlobSchema() ||
    ns.isBigIntegerSchema() ||
    ns.isBigDecimalSchema() ||
    (ns.isStringSchema() && ns.getMergedTraits().mediaType !== undefined)
  )
    return null;
  // A document is the parsed JSON itself, as the SDK gives it (no big numbers: those are refused above).
  if (ns.isDocumentSchema()) return undefined;
  if (ns.isListSchema() || ns.isMapSchema()) {
    const inner = compile(ns.getValueSchema(), seen);
    if (inner === null || inner === undefined) return inner;
    return ns.isListSchema() ? { kind: 'list', item: inner } : { kind: 'map', value: inner };
  }
  // A union (ECS: SharingStrategy, ServiceConnectContainerConfiguration) is read like a structure: its one member
  // set is kept as parsed; only a member this SDK does not know differs (the SDK puts it under `$unknown`).
  if (!ns.isStructSchema()) return undefined;
  // A recursive structure (none in ECS today) is not followed: handled by the SDK.
  if (typeof raw === 'object' && raw !== null) seen.set(raw, null);
  const members: [string, Plan][] = [];
  let result: Compiled;
  for (const [name, member] of ns.structIterator()) {
    const plan = compile(member, seen);
    if (plan === null) {
      result = null;
      break;
    }
    if (plan !== undefined) members.push([name, plan]);
  }
  if (result !== null) result = members.length === 0 ? undefined : { kind: 'struct', members };
  if (typeof raw === 'object' && raw !== null) seen.set(raw, result);
  return result;
};

let parseEpochTimestamp: ((value: unknown) => Date | undefined) | undefined;
/** The SDK's own conversion (numbers and numeric strings, in seconds), so both readers give the same Date. */
const parseEpoch = (value: unknown): unknown => {
  parseEpochTimestamp ??= (require('@smithy/core/serde') as typeof import('@smithy/core/serde')).parseEpochTimestamp;
  return parseEpochTimestamp(value);
};

/** Converts, in place, what `plan` says to in `value` (parsed JSON); returns the value to keep. */
const apply = (plan: Plan, value: unknown): unknown => {
  if (value === null || value === undefined) return value;
  switch (plan.kind) {
    case 'timestamp':
      return parseEpoch(value);
    case 'list':
      if (Array.isArray(value)) for (let i = 0; i < value.length; i++) value[i] = apply(plan.item, value[i]);
      return value;
    case 'map':
      if (typeof value === 'object')
        for (const key of Object.keys(value)) {
          const map = value as Record<string, unknown>;
          map[key] = apply(plan.value, map[key]);
        }
      return value;
    case 'struct':
      if (typeof value === 'object' && !Array.isArray(value)) {
        const record = value as Record<string, unknown>;
        for (const [name, member] of plan.members) {
          if (record[name] != null) record[name] = apply(member, record[name]);
        }
      }
      return value;
  }
};

/**
 * Wraps the SDK's JSON reader: answers whose output is in `operations` and whose schema it can handle are read by
 * JSON.parse and the compiled plan; everything else by the SDK's reader.
 */
export class LeanJsonDeserializer implements ShapeDeserializer {
  readonly #inner: ShapeDeserializer;
  readonly #operations: ReadonlySet<string>;
  /** Compiled plans by raw output schema (null: the SDK reads it). */
  readonly #plans = new Map<unknown, Compiled>();

  constructor(inner: ShapeDeserializer, operations: ReadonlySet<string> = LEAN_OPERATIONS) {
    this.#inner = inner;
    this.#operations = operations;
  }

  setSerdeContext(context: unknown): void {
    this.#inner.setSerdeContext(context);
  }

  read(schema: unknown, data: Uint8Array | string): unknown {
    const plan = this.planFor(schema);
    if (plan === null) return this.#inner.read(schema, data);
    const text =
      typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString();
    if (text.length === 0) return {};
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return this.#inner.read(schema, data);
    return plan === undefined ? parsed : apply(plan, parsed);
  }

  /** The plan for an output schema: null when the SDK reads it. */
  planFor(schema: unknown): Compiled {
    if (typeof schema !== 'object' || schema === null || !('getSchema' in schema)) return null;
    const ns = schema as Schema;
    const raw = ns.getSchema();
    if (this.#plans.has(raw)) return this.#plans.get(raw);
    const name = ns.getName();
    const plan =
      name !== undefined && this.#operations.has(name) && ns.isStructSchema() ? compile(ns, new Map()) : null;
    this.#plans.set(raw, plan);
    return plan;
  }
}

/** A response as the SDK's HTTP handler gives it to the protocol. */
interface SdkResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
}
/** The parts of the SDK's JSON protocol (AwsJson1_1Protocol) this wraps. */
interface JsonProtocol {
  deserializer: unknown;
  deserializeResponse(operation: { output: unknown }, context: unknown, response: SdkResponse): Promise<unknown>;
  deserializeMetadata(response: SdkResponse): unknown;
}

const isNodeReadable = (body: unknown): body is NodeJS.ReadableStream =>
  typeof body === 'object' &&
  body !== null &&
  typeof (body as NodeJS.ReadableStream).setEncoding === 'function' &&
  Symbol.asyncIterator in body;

/**
 * The body as text, decoded chunk by chunk as it arrives: no copy of the whole body into one buffer first (the SDK
 * collects the chunks into a new Uint8Array and then decodes it), so the only memory outside V8's heap per answer is
 * the socket's own chunks.
 */
const readText = async (body: NodeJS.ReadableStream): Promise<string> => {
  body.setEncoding('utf8');
  let text = '';
  for await (const chunk of body) text += chunk as string;
  return text;
};

/**
 * Installs the lean reader in a JSON-protocol SDK client (ECS): the protocol's JSON reader is wrapped, and for the
 * lean operations a successful answer streamed by Node's HTTP handler is decoded as it arrives. A client whose
 * protocol does not look as expected (another SDK version) is left as it is: everything then goes through the SDK's
 * reader, as before.
 */
export const useLeanJsonReads = <C>(client: C, operations: ReadonlySet<string> = LEAN_OPERATIONS): C => {
  const protocol = (client as unknown as { config: { protocol?: unknown } }).config.protocol as
    | Partial<JsonProtocol>
    | undefined;
  const inner = protocol?.deserializer as Partial<ShapeDeserializer> | undefined;
  if (
    !protocol ||
    !inner ||
    typeof inner.read !== 'function' ||
    typeof inner.setSerdeContext !== 'function' ||
    typeof protocol.deserializeResponse !== 'function' ||
    typeof protocol.deserializeMetadata !== 'function' ||
    inner instanceof LeanJsonDeserializer
  )
    return client;
  const lean = new LeanJsonDeserializer(inner as ShapeDeserializer, operations);
  const sdkDeserializeResponse = protocol.deserializeResponse.bind(protocol);
  const deserializeMetadata = protocol.deserializeMetadata.bind(protocol);
  protocol.deserializer = lean;
  protocol.deserializeResponse = async (operation, context, response) => {
    const { schema, readable } = { schema: schemaOf(operation.output), readable: isNodeReadable(response.body) };
    if (response.statusCode >= 300 || !readable || schema === undefined || lean.planFor(schema) === null)
      return sdkDeserializeResponse(operation, context, response);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) headers[name.toLowerCase()] = value;
    response.headers = headers;
    const output = lean.read(schema, await readText(response.body as NodeJS.ReadableStream)) as Record<string, unknown>;
    output.$metadata = deserializeMetadata(response);
    return output;
  };
  return client;
};

/** The operation's output schema, normalized as the SDK does (cached by the SDK on the schema itself). */
const schemaOf = (output: unknown): Schema | undefined => {
  const { NormalizedSchema } = require('@smithy/core/schema') as typeof import('@smithy/core/schema');
  try {
    return NormalizedSchema.of(output as Parameters<typeof NormalizedSchema.of>[0]) as unknown as Schema;
  } catch {
    return undefined;
  }
};
