import { describe, expect, it } from 'vitest';
import { createLogger, slackLogger } from '../../src/logger.ts';

const capture = (level: string) => {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (line: string) => void lines.push(line) });
  return { lines, bolt: slackLogger(logger) };
};

describe("Bolt's logger, on dockhand's pino", () => {
  it('does not build a debug line when debug is off (Bolt logs two on every ack)', () => {
    const { lines, bolt } = capture('info');
    let serialized = 0;
    bolt.debug('ack() response sent', {
      toJSON: () => {
        serialized++;
        return {};
      },
    });
    expect(serialized).toBe(0);
    expect(lines).toEqual([]);
  });

  it('writes it, objects as JSON, when debug is on', () => {
    const { lines, bolt } = capture('debug');
    bolt.debug('ack() response sent', { body: 'x' });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      level: 'debug',
      component: 'slack',
      msg: 'ack() response sent {"body":"x"}',
    });
  });
});
