import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const GOLDEN = new URL('./golden/', import.meta.url);

describe('times on cards', () => {
  it('are written in one format on every card (the goldens hold each visual state)', () => {
    const formats = new Map<string, string[]>();
    for (const file of readdirSync(GOLDEN).filter((f) => f.endsWith('.json'))) {
      const text = readFileSync(new URL(file, GOLDEN), 'utf8');
      for (const match of text.matchAll(/<!date\^\d+\^([^|]+)\|/g)) {
        const format = match[1] as string;
        formats.set(format, [...(formats.get(format) ?? []), file]);
      }
    }

    expect([...formats.keys()]).toEqual(['{date_short_pretty} {time}']);
  });
});
