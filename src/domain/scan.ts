import { z } from 'zod';

/**
 * Image scan findings (issue 13, item 6): what a registry's scan of the image a deploy runs found, by severity, as
 * the approval card shows it and the approval policy weighs it (`approvals.<name>.blockOn`). Only registries that
 * scan (ECR) answer; a plain registry has no scan, and nothing is shown or changed.
 */

/** ECR's severities, most severe first. */
export const SCAN_SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational', 'undefined'] as const;
export type ScanSeverity = (typeof SCAN_SEVERITIES)[number];
export type ScanCounts = Partial<Record<ScanSeverity, number>>;

/** The severities `approvals.<name>.blockOn` may name. */
export const BLOCK_ON = ['critical', 'high'] as const;
export type BlockOn = (typeof BLOCK_ON)[number];

/** One look at an image's scan, as the registry answers it. */
export type ScanReading =
  /** Finished: the findings' counts per severity (a severity with none is absent). */
  | { status: 'complete'; counts: ScanCounts }
  /** Pending or in progress. */
  | { status: 'in_progress' }
  /** The scan failed; `detail` is the registry's description. */
  | { status: 'failed'; detail?: string | undefined }
  /** The image's operating system or package manager cannot be scanned. */
  | { status: 'unsupported'; detail?: string | undefined }
  /** The image was never scanned (scanning is off for the repository, or scan on push was off when it was pushed). */
  | { status: 'not_scanned' };

/** What a plan records (the `scan` fact): a reading, or that it could not be read (the deploy goes on). */
export type ScanFindings = ScanReading | { status: 'unreadable'; detail: string };

const counts = z.object(Object.fromEntries(SCAN_SEVERITIES.map((s) => [s, z.number().int().nonnegative()]))).partial();
const detail = z.string().min(1).optional();

export const scanFindingsSchema: z.ZodType<ScanFindings> = z.discriminatedUnion('status', [
  z.object({ status: z.literal('complete'), counts: counts.strict() }).strict(),
  z.object({ status: z.literal('in_progress') }).strict(),
  z.object({ status: z.literal('failed'), detail }).strict(),
  z.object({ status: z.literal('unsupported'), detail }).strict(),
  z.object({ status: z.literal('not_scanned') }).strict(),
  z.object({ status: z.literal('unreadable'), detail: z.string().min(1) }).strict(),
]);

/**
 * A scan with no result to weigh: still running, failed, an image ECR cannot scan, one never scanned, or one that
 * could not be read. Under `blockOn` such an image is held as one whose result reached it (the gate fails closed).
 */
export type UnknownScan = Exclude<ScanFindings['status'], 'complete'>;

/** The findings at `blockOn` or more severe (critical counts for high), 0 when the scan did not finish. */
export const findingsAtOrAbove = (scan: ScanFindings | undefined, blockOn: BlockOn): number => {
  if (scan?.status !== 'complete') return 0;
  const upTo = SCAN_SEVERITIES.indexOf(blockOn);
  return SCAN_SEVERITIES.slice(0, upTo + 1).reduce((sum, s) => sum + (scan.counts[s] ?? 0), 0);
};
