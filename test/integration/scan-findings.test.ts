import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readScanFindings } from '../../src/adapters/aws/scan-findings.ts';
import { FakeAws } from '../support/fake-aws/index.ts';

const REPO = 'acme/api';
const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe('ECR scan findings through the real SDK client against the fake ECR (JSON 1.1)', () => {
  const fake = new FakeAws();
  let ecr: ECRClient;

  beforeAll(async () => {
    const { url } = await fake.start();
    ecr = new ECRClient({
      endpoint: url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIAFAKEFAKEFAKE', secretAccessKey: 'fake-secret' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    ecr?.destroy();
    await fake.stop();
  });
  beforeEach(() => fake.reset());

  it('reads the severity counts of a finished scan in one call, asking for one finding only', async () => {
    fake.putImage(REPO, '1.0.0', digest('a'));
    fake.putScanFindings(REPO, digest('a'), { counts: { CRITICAL: 2, HIGH: 3, MEDIUM: 5, LOW: 1 } });
    const reading = await readScanFindings(ecr, REPO, digest('a'));
    expect(reading).toEqual({ status: 'complete', counts: { critical: 2, high: 3, medium: 5, low: 1 } });
    expect(fake.calls['ECR.DescribeImageScanFindings']).toBe(1);
    expect(fake.requestsFor('ECR.DescribeImageScanFindings')[0]?.input).toMatchObject({
      repositoryName: REPO,
      imageId: { imageDigest: digest('a') },
      maxResults: 1,
    });
  });

  it('walks a scan PENDING → IN_PROGRESS → COMPLETE on call count', async () => {
    fake.putImage(REPO, '1.0.0', digest('b'));
    fake.putScanFindings(REPO, digest('b'), { counts: { HIGH: 1 }, inProgressCalls: 2 });
    expect(await readScanFindings(ecr, REPO, digest('b'))).toEqual({ status: 'in_progress' });
    expect(await readScanFindings(ecr, REPO, digest('b'))).toEqual({ status: 'in_progress' });
    expect(await readScanFindings(ecr, REPO, digest('b'))).toEqual({ status: 'complete', counts: { high: 1 } });
    const statuses = fake.requestsFor('ECR.DescribeImageScanFindings').map((r) => r.status);
    expect(statuses).toEqual([200, 200, 200]);
  });

  it('says an image that was never scanned is not scanned (ScanNotFoundException), and a clean scan has no counts', async () => {
    fake.putImage(REPO, '1.0.0', digest('c'));
    expect(await readScanFindings(ecr, REPO, digest('c'))).toEqual({ status: 'not_scanned' });
    fake.putScanFindings(REPO, digest('c'), {});
    expect(await readScanFindings(ecr, REPO, digest('c'))).toEqual({ status: 'complete', counts: {} });
  });

  it('tells a failed scan and an unsupported image apart, with ECR’s description', async () => {
    fake.putScanFindings(REPO, digest('d'), { status: 'FAILED' });
    fake.putScanFindings(REPO, digest('e'), { status: 'UNSUPPORTED_IMAGE' });
    expect(await readScanFindings(ecr, REPO, digest('d'))).toEqual({ status: 'failed', detail: 'The scan failed.' });
    const unsupported = await readScanFindings(ecr, REPO, digest('e'));
    expect(unsupported.status).toBe('unsupported');
    expect(unsupported).toMatchObject({ detail: expect.stringContaining('UnsupportedImageError') });
  });

  it('throws a coded error for an unknown image, a missing repository and an injected throttle', async () => {
    fake.putImage(REPO, '1.0.0', digest('f'));
    await expect(readScanFindings(ecr, REPO, digest('0'))).rejects.toMatchObject({
      code: 'aws',
      awsCode: 'ImageNotFoundException',
    });
    await expect(readScanFindings(ecr, 'acme/none', digest('f'))).rejects.toMatchObject({
      awsCode: 'RepositoryNotFoundException',
    });
    fake.putScanFindings(REPO, digest('f'), { counts: { CRITICAL: 1 } });
    fake.faults({ failNext: { op: 'ECR.DescribeImageScanFindings', code: 'ThrottlingException' } });
    await expect(readScanFindings(ecr, REPO, digest('f'))).rejects.toMatchObject({ awsCode: 'ThrottlingException' });
    expect(await readScanFindings(ecr, REPO, digest('f'))).toMatchObject({ status: 'complete' });
    expect(fake.calls['ECR.DescribeImageScanFindings']).toBe(4);
  });

  it('pages findings by nextToken and shows the scan summary on DescribeImages, as ECR does', async () => {
    fake.putImage(REPO, '2.0.0', digest('9'));
    fake.putScanFindings(REPO, digest('9'), { counts: { CRITICAL: 1, MEDIUM: 2 } });
    const { DescribeImageScanFindingsCommand } = await import('@aws-sdk/client-ecr');
    const first = await ecr.send(
      new DescribeImageScanFindingsCommand({ repositoryName: REPO, imageId: { imageTag: '2.0.0' }, maxResults: 2 }),
    );
    expect(first.imageScanStatus?.status).toBe('COMPLETE');
    expect(first.imageScanFindings?.findingSeverityCounts).toEqual({ CRITICAL: 1, MEDIUM: 2 });
    expect(first.imageScanFindings?.findings).toHaveLength(2);
    const second = await ecr.send(
      new DescribeImageScanFindingsCommand({
        repositoryName: REPO,
        imageId: { imageTag: '2.0.0' },
        maxResults: 2,
        nextToken: first.nextToken,
      }),
    );
    expect(second.imageScanFindings?.findings?.map((f) => f.severity)).toEqual(['MEDIUM']);
    expect(second.nextToken).toBeUndefined();
    const images = await ecr.send(
      new DescribeImagesCommand({ repositoryName: REPO, imageIds: [{ imageTag: '2.0.0' }] }),
    );
    expect(images.imageDetails?.[0]?.imageScanStatus?.status).toBe('COMPLETE');
    expect(images.imageDetails?.[0]?.imageScanFindingsSummary?.findingSeverityCounts).toEqual({
      CRITICAL: 1,
      MEDIUM: 2,
    });
  });
});
