import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SLASH_COMMANDS } from '../../commands/index.ts';
import { DEFAULT_SCALE_BOUNDS } from '../../src/core/operate/scale.ts';
import { COMMANDS, type CommandName } from '../../src/core/usage.ts';

interface Manifest {
  features: { slash_commands: { command: string; usage_hint: string; description: string; url: string }[] };
  settings: { interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean };
  oauth_config: { scopes: { bot: string[] } };
}

const manifest = parse(readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8')) as Manifest;

describe('manifest.yml', () => {
  it('registers exactly the slash commands dockhand handles', () => {
    expect(manifest.features.slash_commands.map((c) => c.command).sort()).toEqual([...SLASH_COMMANDS].sort());
  });

  it('shows the same usage line and description as the parser’s errors and /dockhand help', () => {
    for (const entry of manifest.features.slash_commands) {
      const name = entry.command.slice(1) as CommandName;
      expect(entry.usage_hint).toBe(COMMANDS[name].usage);
      expect(entry.description).toBe(COMMANDS[name].description);
      expect(entry.url).toMatch(/\/slack\/events$/);
    }
  });

  it('enables interactivity on the same endpoint and leaves Socket Mode off by default', () => {
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
    expect(manifest.settings.interactivity.request_url).toMatch(/\/slack\/events$/);
    expect(manifest.settings.socket_mode_enabled).toBe(false);
    expect(manifest.oauth_config.scopes.bot).toContain('commands');
  });
});

describe('dockhand.example.yml and the README', () => {
  it('state the default scale bounds the code applies', () => {
    const { min, max } = DEFAULT_SCALE_BOUNDS;
    const bounds = `{ min: ${min}, max: ${max} }`;
    const example = readFileSync(new URL('../../dockhand.example.yml', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const scaleLine = example.split('\n').find((line) => /^\s+scale: \{/.test(line));

    expect(scaleLine).toContain(`default ${bounds}`);
    expect(readme).toContain(`allows ${min} to ${max}\n  tasks (\`${bounds}\`)`);
  });
});
