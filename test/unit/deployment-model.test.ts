import { describe, expect, it } from 'vitest';
import {
  ACTIVE_STATES,
  type DeploymentRequest,
  isTerminal,
  parseFacts,
  parseRequest,
  sourcesOf,
  TERMINAL_STATES,
  TRANSITIONS,
} from '../../src/domain/deployment.ts';

describe('the transition table', () => {
  it('lets every active state fail, and a finished deployment only be marked rolled back', () => {
    for (const state of ACTIVE_STATES) expect(TRANSITIONS[state]).toContain('failed');
    for (const state of TERMINAL_STATES) {
      expect(isTerminal(state)).toBe(true);
      expect(TRANSITIONS[state].every((to) => to === 'rolled_back')).toBe(true);
    }
    expect(sourcesOf('rolled_back')).toEqual(['succeeded', 'failed']);
  });

  it('names the states a move may start from, narrowed by onlyFrom, and refuses a wider narrowing', () => {
    expect(sourcesOf('rolling_out')).toEqual(['approved', 'building', 'pushing', 'registering']);
    expect(sourcesOf('rolling_out', ['registering', 'approved'])).toEqual(['approved', 'registering']);
    expect(sourcesOf('requested')).toEqual([]);
    expect(() => sourcesOf('approved', ['requested', 'building'])).toThrow(/from building to approved/);
  });
});

describe('reading stored requests and facts', () => {
  it('reads each kind of request, and refuses one of another kind than its record', () => {
    const requests: [DeploymentRequest, 'deploy' | 'restart' | 'rollback' | 'scale'][] = [
      [{ type: 'git', ref: 'main' }, 'deploy'],
      [{ type: 'git' }, 'deploy'],
      [{ type: 'image', imageTag: '1.4.2' }, 'deploy'],
      [{ type: 'restart' }, 'restart'],
      [{ type: 'rollback', revision: 'api:41', rule: 'asked', taskDefinitionArn: 'arn:td/api:41' }, 'rollback'],
      [{ type: 'rollback', revision: 'web:0.9', rule: 'asked', image: 'acme/web:0.9', undoes: 'dep_1' }, 'rollback'],
      [{ type: 'scale', desiredCount: 0 }, 'scale'],
    ];
    for (const [request, kind] of requests) expect(parseRequest('dep_1', kind, request)).toEqual(request);
    expect(() => parseRequest('dep_1', 'scale', { type: 'git', ref: 'main' })).toThrow(
      /dep_1 has a request .*a git request in a scale record/,
    );
  });

  it('refuses requests that do not have the shape of their kind', () => {
    const bad: unknown[] = [
      { ref: 'main' },
      { type: 'image' },
      { type: 'scale', desiredCount: '4' },
      { type: 'scale', desiredCount: -1 },
      { type: 'restart', restart: true },
      { type: 'rollback', revision: 'api:41', rule: 'asked' },
      { type: 'rollback', revision: 'api:41', rule: 'asked', image: 'a', taskDefinitionArn: 'b' },
      null,
    ];
    for (const request of bad) {
      expect(() => parseRequest('dep_1', request === null ? 'deploy' : 'rollback', request)).toThrow(
        expect.objectContaining({ code: 'store' }),
      );
    }
  });

  it('reads facts by their types, an empty text as absent, and refuses keys no code knows', () => {
    expect(
      parseFacts('dep_1', { commitSha: 'abc', commitSubject: '', runningCount: 2, publicIps: ['1.2.3.4'] }),
    ).toEqual({ commitSha: 'abc', runningCount: 2, publicIps: ['1.2.3.4'] });
    expect(() => parseFacts('dep_1', { runningCount: '2' })).toThrow(/runningCount/);
    expect(() => parseFacts('dep_1', { step: 3 })).toThrow(/dep_1 has facts/);
    expect(() => parseFacts('dep_1', { failedIn: 'sleeping' })).toThrow(/failedIn/);
  });
});
