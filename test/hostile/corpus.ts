import type { Prng } from '../support/fake-aws/prng.ts';
import { TEST_BOT_TOKEN } from '../support/slack/index.ts';
import { AWS_SECRET, REGISTRY_PASSWORD } from './harness.ts';

/**
 * A seeded generator of slash-command texts: valid commands for the hostile suite's config, mutated token by
 * token, and hostile strings (mentions, links, entities, tokens, secrets, control and bidi characters, very long
 * words). The same seed gives the same corpus, so a failure names the input that reproduces it.
 */
export const SLASH_COMMANDS = ['/deploy', '/rollback', '/scale', '/status', '/logs', '/dockhand'] as const;
export type SlashCommand = (typeof SLASH_COMMANDS)[number];

export const HOSTILE_TOKEN = 'xoxb-1234567890-0987654321-HostileToken';

const VALID: Record<SlashCommand, readonly string[]> = {
  '/deploy': [
    'api image:1.1.0 to production',
    'api image:1.2.0 in staging',
    'api --restart in staging',
    'api image:1.2.0 to production --dry-run',
    'web image:2.0.0',
    'api main to staging',
    'api v1.4.2 --dry-run',
  ],
  '/rollback': ['api', 'api to staging', 'api in production 1', 'web 2'],
  '/scale': ['api 3 in staging', 'api 2', 'web 4 in production', 'api 10 in staging'],
  '/status': ['', 'api', 'api in staging', 'web in production'],
  '/logs': ['api', 'api in staging since 5m', 'api since 2h grep ERROR', 'web grep timeout after 30s'],
  '/dockhand': [
    'help',
    'lock api in staging db migration',
    'unlock api in staging',
    'history api',
    'ips api in production',
    'lock web maintenance window',
    'unlock web',
  ],
};

/** Whatever Slack treats as markup, what looks like a secret, and what breaks naive parsers. */
export const HOSTILE_ATOMS = [
  '<!channel>',
  '<!here>',
  '<!everyone>',
  '<@U0EVIL>',
  '<@W0EVIL|bob>',
  '<!subteam^S0EVIL|@oncall>',
  '<#C0EVIL|general>',
  '<https://evil.example|the runbook>',
  '<http://evil.example>',
  '<mailto:x@evil.example>',
  '<!date^1^{date}|x>',
  '&lt;!channel&gt;',
  '&lt;@U0EVIL&gt;',
  '&lt;https://evil.example|x&gt;',
  '&amp;lt;!here&amp;gt;',
  HOSTILE_TOKEN,
  TEST_BOT_TOKEN,
  AWS_SECRET,
  `password=${REGISTRY_PASSWORD}`,
  'AKIAIOSFODNN7EXAMPLE',
  'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
  'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x',
  '--restart',
  '--dry-run',
  '--emergency',
  '-f',
  '—dry-run',
  'to',
  'in',
  'TO',
  'since',
  'grep',
  'image:',
  'image:<!channel>',
  'image:../../x',
  '../../etc/passwd',
  '$(reboot)',
  '`rm -rf /`',
  '; DROP TABLE deployments; --',
  "' OR '1'='1",
  '*bold*',
  '_it_',
  '~s~',
  '```',
  '>',
  '<',
  '&',
  '|',
  '\n',
  '\t',
  '\u0000',
  '\u001b[31m',
  '\u202e',
  '\u200b',
  'é',
  '🚀',
  'İ',
  '０',
  '1e3',
  '-1',
  '0x10',
  '99999999999',
  'NaN',
  '4.5',
  '5m',
  '25h',
  '0s',
  'constructor',
  '__proto__',
  'main..HEAD',
  '@{-1}',
  'refs/heads/x.lock',
];

const pick = <T>(prng: Prng, items: readonly T[]): T => items[prng.int(items.length)] as T;

const randomWord = (prng: Prng): string => {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-_.:/@<>&|!#^`*~';
  let out = '';
  for (let i = 1 + prng.int(12); i > 0; i--) out += alphabet[prng.int(alphabet.length)];
  return out;
};

/** One hostile token: an atom, a random word, a very long word, or an atom glued to a word. */
const hostileToken = (prng: Prng): string => {
  switch (prng.int(6)) {
    case 0:
      return randomWord(prng);
    case 1:
      return pick(prng, HOSTILE_ATOMS).repeat(1 + prng.int(3));
    case 2:
      return 'a'.repeat(200 + prng.int(4000));
    case 3:
      return `${randomWord(prng)}${pick(prng, HOSTILE_ATOMS)}`;
    default:
      return pick(prng, HOSTILE_ATOMS);
  }
};

/** Mutates a valid command's tokens: replace, insert, delete, duplicate, swap, change case, cut. */
const mutate = (prng: Prng, text: string): string => {
  const tokens = text.split(' ').filter((t) => t.length > 0);
  for (let n = 1 + prng.int(3); n > 0; n--) {
    const i = prng.int(tokens.length + 1);
    switch (prng.int(8)) {
      case 0:
        tokens.splice(i, 1, hostileToken(prng));
        break;
      case 1:
        tokens.splice(i, 0, hostileToken(prng));
        break;
      case 2:
        tokens.splice(i, 1);
        break;
      case 3:
        if (tokens[i] !== undefined) tokens.splice(i, 0, tokens[i] as string);
        break;
      case 4: {
        const j = prng.int(tokens.length);
        if (tokens[i] !== undefined && tokens[j] !== undefined) {
          [tokens[i], tokens[j]] = [tokens[j] as string, tokens[i] as string];
        }
        break;
      }
      case 5:
        if (tokens[i] !== undefined) tokens[i] = (tokens[i] as string).toUpperCase();
        break;
      case 6:
        if (tokens[i] !== undefined) tokens[i] = `${tokens[i]}${pick(prng, HOSTILE_ATOMS)}`;
        break;
      default:
        tokens.push(hostileToken(prng));
    }
  }
  const joined = tokens.join(pick(prng, [' ', ' ', ' ', '  ', '\t', '\u00a0']));
  return prng.int(10) === 0 ? joined.slice(0, prng.int(joined.length + 1)) : joined;
};

/** A valid command whose free text (a lock's reason, a grep) is hostile: accepted, so it reaches Slack's texts. */
const carrier = (prng: Prng, command: SlashCommand, valid: string): string => {
  const hostile = Array.from({ length: 1 + prng.int(3) }, () => pick(prng, HOSTILE_ATOMS)).join(' ');
  const env = pick(prng, ['', ' in staging', ' in production']);
  if (command === '/dockhand') return `lock ${pick(prng, ['api', 'web'])}${env} ${hostile}`;
  if (command === '/logs') return `api${env} since 10m grep ${hostile}`;
  return `${valid} ${hostile}`;
};

export interface FuzzInput {
  command: SlashCommand;
  text: string;
}

/** `count` inputs spread evenly over the six commands: a third valid, the rest mutated or wholly hostile. */
export const fuzzCorpus = (prng: Prng, count: number): FuzzInput[] => {
  const inputs: FuzzInput[] = [];
  for (let i = 0; i < count; i++) {
    const command = SLASH_COMMANDS[i % SLASH_COMMANDS.length] as SlashCommand;
    const valid = pick(prng, VALID[command]);
    const roll = prng.int(10);
    let text: string;
    if (roll < 2) text = valid;
    else if (roll < 4) text = carrier(prng, command, valid);
    else if (roll < 8) text = mutate(prng, valid);
    else text = Array.from({ length: 1 + prng.int(4) }, () => hostileToken(prng)).join(' ');
    inputs.push({ command, text });
  }
  return inputs;
};
