import type { TaskDefinition } from '@aws-sdk/client-ecs';
import { describe, expect, it } from 'vitest';
import { registrationInput } from '../../src/adapters/aws/ecs-deployer.ts';

describe('registrationInput', () => {
  it('copies what ECS registers, the image replaced, and leaves out members given as null', () => {
    // As lean-json.ts reads an answer: a member sent as null stays null (the SDK's own reader dropped it).
    const td = {
      family: 'api',
      taskRoleArn: null,
      cpu: '256',
      revision: 4,
      containerDefinitions: [
        { name: 'app', image: 'acme/api:1' },
        { name: 'sidecar', image: 'acme/envoy:1' },
      ],
    } as unknown as TaskDefinition;
    const input = registrationInput(td, [{ key: 'team', value: 'core' }], 'app', 'acme/api:2');
    expect(input).toEqual({
      family: 'api',
      cpu: '256',
      containerDefinitions: [
        { name: 'app', image: 'acme/api:2' },
        { name: 'sidecar', image: 'acme/envoy:1' },
      ],
      tags: [{ key: 'team', value: 'core' }],
    });
    expect('taskRoleArn' in input).toBe(false);
  });
});
