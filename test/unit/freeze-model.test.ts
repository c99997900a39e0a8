import { describe, expect, it } from 'vitest';
import { parseRequest } from '../../src/domain/deployment.ts';

describe('break-glass on the stored request', () => {
  it('reads an emergency on every kind of request, and a request without one as before', () => {
    const glass = { emergency: 'checkout is down', emergencyCause: 'freeze' } as const;
    expect(parseRequest('d1', 'deploy', { type: 'git', ref: 'main', ...glass })).toEqual({
      type: 'git',
      ref: 'main',
      ...glass,
    });
    expect(parseRequest('d2', 'deploy', { type: 'image', imageTag: '1.2', ...glass })).toMatchObject(glass);
    expect(parseRequest('d3', 'restart', { type: 'restart', ...glass })).toMatchObject(glass);
    expect(
      parseRequest('d4', 'rollback', {
        type: 'rollback',
        revision: 'web:0.9',
        rule: 'asked',
        image: 'web:0.9',
        ...glass,
      }),
    ).toMatchObject(glass);
    expect(parseRequest('d5', 'scale', { type: 'scale', desiredCount: 2, emergency: 'load' })).toEqual({
      type: 'scale',
      desiredCount: 2,
      emergency: 'load',
    });
    expect(parseRequest('d6', 'deploy', { type: 'git' })).toEqual({ type: 'git' });
  });

  it('refuses an empty reason or a cause it does not know', () => {
    expect(() => parseRequest('d7', 'restart', { type: 'restart', emergency: '' })).toThrow(/emergency/);
    expect(() => parseRequest('d8', 'restart', { type: 'restart', emergency: 'x', emergencyCause: 'whim' })).toThrow(
      /emergencyCause/,
    );
  });
});
