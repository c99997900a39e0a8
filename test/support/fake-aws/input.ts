import { AwsError } from './errors.ts';
import type { JsonObject } from './model.ts';

const INVALID = 'InvalidParameterException';

export function optString(input: JsonObject, key: string): string | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AwsError(INVALID, `${key} must be a string.`);
  return v;
}

export function reqString(input: JsonObject, key: string): string {
  const v = optString(input, key);
  if (v === undefined || v === '') throw new AwsError(INVALID, `${key} is required and must not be empty.`);
  return v;
}

export function optStringArray(input: JsonObject, key: string): string[] | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new AwsError(INVALID, `${key} must be a list of strings.`);
  }
  return v as string[];
}

export function reqStringArray(input: JsonObject, key: string): string[] {
  const v = optStringArray(input, key);
  if (!v || v.length === 0) throw new AwsError(INVALID, `${key} is required and must not be empty.`);
  return v;
}

export function optInt(input: JsonObject, key: string, min: number, max: number): number | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new AwsError(INVALID, `${key} must be an integer between ${min} and ${max}.`);
  }
  return v;
}

export function optBool(input: JsonObject, key: string): boolean | undefined {
  const v = input[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new AwsError(INVALID, `${key} must be a boolean.`);
  return v;
}

/** Offset-based paging with opaque tokens bound to one operation. */
export function paginate<T>(
  items: T[],
  nextToken: string | undefined,
  pageSize: number,
  scope: string,
): { page: T[]; nextToken?: string } {
  let start = 0;
  if (nextToken !== undefined) {
    const decoded = Buffer.from(nextToken, 'base64url').toString('utf8');
    const m = /^fake:(.*):(\d+)$/.exec(decoded);
    if (!m || m[1] !== scope) throw new AwsError(INVALID, 'The specified nextToken is invalid.');
    start = Number(m[2]);
  }
  const page = items.slice(start, start + pageSize);
  const end = start + page.length;
  return end < items.length ? { page, nextToken: Buffer.from(`fake:${scope}:${end}`).toString('base64url') } : { page };
}
