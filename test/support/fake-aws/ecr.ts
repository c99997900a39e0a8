import { AwsError } from './errors.ts';
import type { FakeAws } from './fake-aws.ts';
import { optInt, optString, optStringArray, paginate, reqString } from './input.ts';
import {
  ACCOUNT_ID,
  type ImageScanState,
  type ImageState,
  type JsonObject,
  type RepositoryState,
  type ScanSeverity,
} from './model.ts';

type Handler = (fake: FakeAws, input: JsonObject) => unknown;

const MANIFEST_TYPE = 'application/vnd.docker.distribution.manifest.v2+json';

function registryHost(fake: FakeAws): string {
  try {
    return new URL(fake.ecrProxyEndpoint).host;
  } catch {
    return fake.ecrProxyEndpoint;
  }
}

function repository(fake: FakeAws, name: string): RepositoryState {
  const repo = fake.repositories.get(name);
  if (!repo) {
    throw new AwsError(
      'RepositoryNotFoundException',
      `The repository with name '${name}' does not exist in the registry with id '${ACCOUNT_ID}'`,
    );
  }
  return repo;
}

function serializeRepository(fake: FakeAws, repo: RepositoryState): JsonObject {
  return {
    repositoryArn: repo.arn,
    registryId: ACCOUNT_ID,
    repositoryName: repo.name,
    repositoryUri: `${registryHost(fake)}/${repo.name}`,
    createdAt: repo.createdAt,
    imageTagMutability: 'MUTABLE',
    imageScanningConfiguration: { scanOnPush: false },
    encryptionConfiguration: { encryptionType: 'AES256' },
  };
}

function serializeImage(fake: FakeAws, repo: RepositoryState, img: ImageState): JsonObject {
  const scan = img.scan;
  // What DescribeImages says of a scan does not walk it (only DescribeImageScanFindings counts calls).
  const done =
    scan !== undefined &&
    scan.inProgressCalls === 0 &&
    (scan.completesAt === undefined || fake.now().getTime() >= scan.completesAt.getTime());
  return {
    ...(scan ? { imageScanStatus: { status: done ? scan.status : 'IN_PROGRESS' } } : {}),
    ...(done && scan.status === 'COMPLETE'
      ? {
          imageScanFindingsSummary: {
            imageScanCompletedAt: scan.completedAt ?? fake.now(),
            vulnerabilitySourceUpdatedAt: scan.completedAt ?? fake.now(),
            findingSeverityCounts: { ...scan.counts },
          },
        }
      : {}),
    registryId: ACCOUNT_ID,
    repositoryName: repo.name,
    imageDigest: img.digest,
    ...(img.tags.length ? { imageTags: [...img.tags] } : {}),
    imageSizeInBytes: img.sizeInBytes,
    imagePushedAt: img.pushedAt,
    imageManifestMediaType: MANIFEST_TYPE,
    artifactMediaType: 'application/vnd.docker.container.image.v1+json',
  };
}

function getAuthorizationToken(fake: FakeAws, _input: JsonObject) {
  const expiresAt = new Date(fake.now().getTime() + fake.ecrTokenTtlSeconds * 1000);
  return {
    authorizationData: [
      {
        authorizationToken: Buffer.from(`${fake.ecrUsername}:${fake.ecrPassword}`).toString('base64'),
        expiresAt,
        proxyEndpoint: fake.ecrProxyEndpoint,
      },
    ],
  };
}

function describeRepositories(fake: FakeAws, input: JsonObject) {
  const names = optStringArray(input, 'repositoryNames');
  const max = optInt(input, 'maxResults', 1, 1000) ?? 100;
  const repos = names ? names.map((n) => repository(fake, n)) : [...fake.repositories.values()];
  const { page, nextToken } = paginate(repos, optString(input, 'nextToken'), max, 'DescribeRepositories');
  return { repositories: page.map((r) => serializeRepository(fake, r)), nextToken };
}

function describeImages(fake: FakeAws, input: JsonObject) {
  const repo = repository(fake, reqString(input, 'repositoryName'));
  const ids = input.imageIds;
  if (ids !== undefined && ids !== null) {
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 100) {
      throw new AwsError('InvalidParameterException', 'imageIds must have between 1 and 100 items.');
    }
    if (input.maxResults !== undefined || input.nextToken !== undefined) {
      throw new AwsError('InvalidParameterException', 'maxResults and nextToken cannot be used with imageIds.');
    }
    const found: ImageState[] = [];
    for (const raw of ids as unknown[]) {
      const id = (raw ?? {}) as { imageTag?: unknown; imageDigest?: unknown };
      const tag = typeof id.imageTag === 'string' ? id.imageTag : undefined;
      const digest = typeof id.imageDigest === 'string' ? id.imageDigest : undefined;
      if (tag === undefined && digest === undefined) {
        throw new AwsError('InvalidParameterException', 'An imageId needs an imageTag or an imageDigest.');
      }
      const img = repo.images.find(
        (i) => (tag === undefined || i.tags.includes(tag)) && (digest === undefined || i.digest === digest),
      );
      if (!img) {
        throw new AwsError(
          'ImageNotFoundException',
          `The image with imageId {imageDigest:'${digest ?? 'null'}', imageTag:'${tag ?? 'null'}'} does not exist ` +
            `within the repository with name '${repo.name}' in the registry with id '${ACCOUNT_ID}'`,
        );
      }
      if (!found.includes(img)) found.push(img);
    }
    return { imageDetails: found.map((i) => serializeImage(fake, repo, i)) };
  }
  const filter = (input.filter ?? {}) as { tagStatus?: unknown };
  const tagStatus = typeof filter.tagStatus === 'string' ? filter.tagStatus : 'ANY';
  const images = repo.images.filter((i) =>
    tagStatus === 'TAGGED' ? i.tags.length > 0 : tagStatus === 'UNTAGGED' ? i.tags.length === 0 : true,
  );
  const max = optInt(input, 'maxResults', 1, 1000) ?? 100;
  const { page, nextToken } = paginate(images, optString(input, 'nextToken'), max, `DescribeImages/${repo.name}`);
  return { imageDetails: page.map((i) => serializeImage(fake, repo, i)), nextToken };
}

const SEVERITIES: readonly ScanSeverity[] = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL', 'UNDEFINED'];

/** One call's look at a scan: PENDING first, IN_PROGRESS while calls (or fake time) remain, then its end status. */
function scanStep(fake: FakeAws, scan: ImageScanState): 'PENDING' | 'IN_PROGRESS' | ImageScanState['status'] {
  scan.calls++;
  const waitingForClock = scan.completesAt !== undefined && fake.now().getTime() < scan.completesAt.getTime();
  if (scan.inProgressCalls > 0 || waitingForClock) {
    if (scan.inProgressCalls > 0) scan.inProgressCalls--;
    return scan.calls === 1 ? 'PENDING' : 'IN_PROGRESS';
  }
  scan.completedAt ??= fake.now();
  return scan.status;
}

const SCAN_DESCRIPTIONS: Record<string, string> = {
  PENDING: 'The scan is pending.',
  IN_PROGRESS: 'The scan is in progress.',
  COMPLETE: 'The scan was completed successfully.',
  FAILED: 'The scan failed.',
  UNSUPPORTED_IMAGE: 'UnsupportedImageError: The operating system and/or package manager are not supported.',
};

/**
 * DescribeImageScanFindings (basic scanning): the image by digest or tag; ScanNotFoundException when it was never
 * scanned. A finished scan carries `imageScanFindings` with `findingSeverityCounts` and one finding per count
 * (`maxResults`, default 100, paginated by `nextToken`); a pending one only its `imageScanStatus`.
 */
function describeImageScanFindings(fake: FakeAws, input: JsonObject) {
  const repo = repository(fake, reqString(input, 'repositoryName'));
  const id = (input.imageId ?? {}) as { imageTag?: unknown; imageDigest?: unknown };
  if (typeof input.imageId !== 'object' || input.imageId === null) {
    throw new AwsError('InvalidParameterException', 'imageId is required.');
  }
  const tag = typeof id.imageTag === 'string' ? id.imageTag : undefined;
  const digest = typeof id.imageDigest === 'string' ? id.imageDigest : undefined;
  if (tag === undefined && digest === undefined) {
    throw new AwsError('InvalidParameterException', 'An imageId needs an imageTag or an imageDigest.');
  }
  const max = optInt(input, 'maxResults', 1, 1000) ?? 100;
  const imageIdText = `{imageDigest:'${digest ?? 'null'}', imageTag:'${tag ?? 'null'}'}`;
  const img = repo.images.find(
    (i) => (tag === undefined || i.tags.includes(tag)) && (digest === undefined || i.digest === digest),
  );
  if (!img) {
    throw new AwsError(
      'ImageNotFoundException',
      `The image with imageId ${imageIdText} does not exist within the repository with name '${repo.name}' ` +
        `in the registry with id '${ACCOUNT_ID}'`,
    );
  }
  if (!img.scan) {
    throw new AwsError(
      'ScanNotFoundException',
      `Image scan does not exist for the image with '${imageIdText}' in the repository with name '${repo.name}' ` +
        `in the registry with id '${ACCOUNT_ID}'`,
    );
  }
  const scan = img.scan;
  const nextToken = optString(input, 'nextToken');
  // A page after the first reads the finished scan again; only first pages walk the status.
  const status = nextToken === undefined ? scanStep(fake, scan) : scan.status;
  const base = {
    registryId: ACCOUNT_ID,
    repositoryName: repo.name,
    imageId: { imageDigest: img.digest, ...(tag ? { imageTag: tag } : {}) },
    imageScanStatus: { status, description: scan.description ?? SCAN_DESCRIPTIONS[status] },
  };
  if (status !== 'COMPLETE') return base;
  const findings = SEVERITIES.flatMap((severity) =>
    Array.from({ length: scan.counts[severity] ?? 0 }, (_, i) => ({
      name: `CVE-2026-${severity.slice(0, 3)}${String(i + 1).padStart(4, '0')}`,
      uri: `https://security-tracker.debian.org/tracker/CVE-2026-${i + 1}`,
      severity,
      attributes: [{ key: 'package_name', value: 'openssl' }],
    })),
  );
  const { page, nextToken: next } = paginate(findings, nextToken, max, `DescribeImageScanFindings/${img.digest}`);
  const counts = Object.fromEntries(Object.entries(scan.counts).filter(([, n]) => (n ?? 0) > 0));
  return {
    ...base,
    imageScanFindings: {
      imageScanCompletedAt: scan.completedAt,
      vulnerabilitySourceUpdatedAt: scan.completedAt,
      findingSeverityCounts: counts,
      findings: page,
    },
    ...(next ? { nextToken: next } : {}),
  };
}

export const ecrHandlers: Record<string, Handler> = {
  GetAuthorizationToken: getAuthorizationToken,
  DescribeRepositories: describeRepositories,
  DescribeImages: describeImages,
  DescribeImageScanFindings: describeImageScanFindings,
};
