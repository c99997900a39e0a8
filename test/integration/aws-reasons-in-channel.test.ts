/**
 * What a channel reads when AWS refuses dockhand: what dockhand was doing, AWS's error code and the permission that is
 * missing, never AWS's own message, which names the account and the role. The deploy pipeline with its real AWS
 * adapters against the fake AWS over HTTP.
 */

import { describe, expect, it } from 'vitest';
import { useApiOnFakeAws } from '../support/api-on-fake-aws.ts';
import { useFakeAwsCredentials } from '../support/fake-aws-credentials.ts';

useFakeAwsCredentials();

/** Not the account of the seeded images: only AWS's message names it. */
const ACCOUNT = '999988887777';
const refusal = (permission: string, resource: string) =>
  `User: arn:aws:sts::${ACCOUNT}:assumed-role/dockhand-task/9f8e7d is not authorized to perform: ${permission} ` +
  `on resource: arn:aws:ecs:us-east-1:${ACCOUNT}:${resource} because no identity-based policy allows the action`;
const SECRET_PARTS = new RegExp(`${ACCOUNT}|assumed-role|arn:aws:sts`);

describe('AWS refusals on the deployment card', () => {
  const api = useApiOnFakeAws();

  it('says which update failed, with the code and the missing permission, and not the role AWS names', async () => {
    const { fake, pipeline } = api;
    fake.faults({
      failNext: {
        op: 'ECS.UpdateService',
        code: 'AccessDeniedException',
        message: refusal('ecs:UpdateService', 'service/prod/api'),
      },
    });
    const done = await pipeline.deploy({ imageTag: '1.4.2' });
    expect(done.state).toBe('failed');
    expect(done.reason).toContain('update service api in cluster prod');
    expect(done.reason).toContain('AccessDeniedException');
    const card = JSON.stringify(pipeline.notifier.last());
    expect(card).toContain('update service api in cluster prod');
    expect(card).toContain('AccessDeniedException');
    expect(card).toContain('ecs:UpdateService');
    expect(card).not.toMatch(SECRET_PARTS);
    expect(JSON.stringify(done)).not.toMatch(SECRET_PARTS);
  });
});
