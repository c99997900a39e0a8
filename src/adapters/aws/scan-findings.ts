/**
 * ECR image scan findings (issue 13, item 6): one DescribeImageScanFindings call by digest, turned into the domain's
 * ScanReading. Only the severity counts are read, so one finding per page is asked for (`maxResults: 1`): the counts
 * (`imageScanFindings.findingSeverityCounts`) cover the whole image whatever the page size.
 */
import type { DescribeImageScanFindingsCommandOutput, ECRClient } from '@aws-sdk/client-ecr';
import { SCAN_SEVERITIES, type ScanCounts, type ScanReading } from '../../domain/scan.ts';
import { AwsError, errorName } from '../../errors.ts';
import { ecrSdk } from './sdk.ts';

/** ECR's severity keys (upper case) → the domain's. Unknown keys are dropped. */
export const countsOf = (raw: Record<string, number | undefined> | undefined): ScanCounts => {
  const counts: ScanCounts = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    const severity = SCAN_SEVERITIES.find((s) => s === key.toLowerCase());
    if (severity && typeof value === 'number' && value > 0) counts[severity] = value;
  }
  return counts;
};

/** A scan status as ECR names it (basic: COMPLETE; enhanced, through Inspector: ACTIVE) → a reading. */
export const readingOf = (out: DescribeImageScanFindingsCommandOutput): ScanReading => {
  const status = out.imageScanStatus?.status;
  const detail = out.imageScanStatus?.description || undefined;
  switch (status) {
    case 'COMPLETE':
    case 'ACTIVE':
      return { status: 'complete', counts: countsOf(out.imageScanFindings?.findingSeverityCounts) };
    case 'PENDING':
    case 'IN_PROGRESS':
      return { status: 'in_progress' };
    case 'UNSUPPORTED_IMAGE':
      return { status: 'unsupported', detail };
    default:
      // FAILED, and enhanced scanning's SCAN_ELIGIBILITY_EXPIRED, FINDINGS_UNAVAILABLE, LIMIT_EXCEEDED…
      return { status: 'failed', detail: detail ?? (status ? `status ${status}` : undefined) };
  }
};

/** One look at the scan of `repository@digest`. ScanNotFoundException: never scanned. Other errors are thrown. */
export const readScanFindings = async (
  client: ECRClient,
  repository: string,
  digest: string,
  registryId?: string,
): Promise<ScanReading> => {
  try {
    const out = await client.send(
      new (ecrSdk().DescribeImageScanFindingsCommand)({
        repositoryName: repository,
        imageId: { imageDigest: digest },
        maxResults: 1,
        ...(registryId ? { registryId } : {}),
      }),
    );
    return readingOf(out);
  } catch (e) {
    if (errorName(e) === 'ScanNotFoundException') return { status: 'not_scanned' };
    throw new AwsError(`reading the scan findings of ${repository}@${digest.slice(0, 19)}`, e);
  }
};
