import { AwsError } from './errors.ts';
import type { FakeAws } from './fake-aws.ts';
import { optInt, optString, optStringArray, paginate, reqString } from './input.ts';
import { ACCOUNT_ID, type ImageState, type JsonObject, type RepositoryState } from './model.ts';

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

function serializeImage(repo: RepositoryState, img: ImageState): JsonObject {
  return {
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
    return { imageDetails: found.map((i) => serializeImage(repo, i)) };
  }
  const filter = (input.filter ?? {}) as { tagStatus?: unknown };
  const tagStatus = typeof filter.tagStatus === 'string' ? filter.tagStatus : 'ANY';
  const images = repo.images.filter((i) =>
    tagStatus === 'TAGGED' ? i.tags.length > 0 : tagStatus === 'UNTAGGED' ? i.tags.length === 0 : true,
  );
  const max = optInt(input, 'maxResults', 1, 1000) ?? 100;
  const { page, nextToken } = paginate(images, optString(input, 'nextToken'), max, `DescribeImages/${repo.name}`);
  return { imageDetails: page.map((i) => serializeImage(repo, i)), nextToken };
}

export const ecrHandlers: Record<string, Handler> = {
  GetAuthorizationToken: getAuthorizationToken,
  DescribeRepositories: describeRepositories,
  DescribeImages: describeImages,
};
