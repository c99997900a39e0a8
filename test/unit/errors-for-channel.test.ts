import { describe, expect, it } from 'vitest';
import { AwsError, DockhandError, EcsFailureError, messageForChannel, reasonForChannel } from '../../src/errors.ts';

/** An AccessDeniedException as the SDK throws it: AWS's message names the account and the role. */
const denied = () =>
  Object.assign(
    new Error(
      'User: arn:aws:sts::123456789012:assumed-role/dockhand/i-0abc is not authorized to perform: ' +
        'ecs:UpdateService on resource: arn:aws:ecs:us-east-1:123456789012:service/prod/api',
    ),
    { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } },
  );
const SECRET_PARTS = /123456789012|arn:aws|assumed-role/;

describe('errors in words a channel may read', () => {
  it('keeps what dockhand was doing and the code of an AWS error, and the permission AWS names, not its message', () => {
    const error = new AwsError('update service api in cluster prod', denied());
    expect(error.action).toBe('update service api in cluster prod');
    expect(messageForChannel(error)).toBe('update service api in cluster prod: AccessDeniedException');
    expect(reasonForChannel(error)).toBe(
      'update service api in cluster prod: AccessDeniedException. ' +
        'dockhand’s IAM role lacks ecs:UpdateService: see “IAM policy” in the README.',
    );
    // The log keeps all of it.
    expect(error.message).toContain('assumed-role/dockhand');
  });

  it('says a permission is missing without naming one when AWS does not', () => {
    const error = new AwsError(
      'read the CloudWatch alarms',
      Object.assign(new Error('denied'), { name: 'AccessDenied' }),
    );
    expect(reasonForChannel(error)).toBe(
      'read the CloudWatch alarms: AccessDenied. dockhand’s IAM role lacks a permission: see “IAM policy” in the README.',
    );
  });

  it('shows only the code of an AWS SDK exception that nothing wrapped', () => {
    expect(messageForChannel(denied())).toBe('AWS answered AccessDeniedException');
    expect(messageForChannel(denied())).not.toMatch(SECRET_PARTS);
  });

  it('leaves the words of dockhand’s own errors and of other errors as they are', () => {
    const ours = new DockhandError('not_found', 'service api not found in cluster prod', {
      hint: 'Check dockhand.yml.',
    });
    expect(messageForChannel(ours)).toBe('service api not found in cluster prod');
    expect(reasonForChannel(ours)).toBe('service api not found in cluster prod Check dockhand.yml.');
    expect(messageForChannel(new Error('socket hang up'))).toBe('socket hang up');
  });

  it('keeps what dockhand was doing and ECS’s reason code of a failures[] entry, not its ARN or detail', () => {
    const arn = 'arn:aws:ecs:us-east-1:123456789012:service/prod/api';
    const error = new EcsFailureError('describe service api in cluster prod', {
      arn,
      reason: 'INACTIVE',
      detail: `${arn} is being deleted`,
    });
    expect(messageForChannel(error)).toBe('describe service api in cluster prod: ECS answered INACTIVE');
    expect(error.failure).toEqual({ arn, reason: 'INACTIVE', detail: `${arn} is being deleted` });
    // A reason that is no code (ECS's own words, an ARN) is left to the log.
    const odd = new EcsFailureError('describe service api in cluster prod', { arn, reason: `${arn} is gone` });
    expect(reasonForChannel(odd)).not.toMatch(SECRET_PARTS);
    expect(reasonForChannel(odd)).toContain('describe service api in cluster prod');
  });
});
