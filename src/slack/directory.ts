/**
 * Slack users and user groups, for "who may approve / deploy" (principals in dockhand.yml are user ids `U…`/`W…`
 * or user-group ids `S…`). Group members are cached briefly; concurrent lookups of one group share one request.
 */
import type { WebClient } from '@slack/web-api';
import { DockhandError } from '../errors.ts';
import type { Clock, Directory } from '../ports.ts';

export interface SlackDirectoryOptions {
  client: WebClient;
  clock: Clock;
  /** How long a group's members are trusted (default 60 s). */
  ttlMs?: number;
}

interface Entry {
  at: number;
  members: Promise<readonly string[]>;
}

const isGroup = (principal: string): boolean => /^S[A-Z0-9]+$/.test(principal);

export class SlackDirectory implements Directory {
  private readonly client: WebClient;
  private readonly clock: Clock;
  private readonly ttlMs: number;
  private readonly cache = new Map<string, Entry>();

  constructor(options: SlackDirectoryOptions) {
    this.client = options.client;
    this.clock = options.clock;
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  membersOf(groupId: string): Promise<readonly string[]> {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(groupId);
    if (cached && now - cached.at < this.ttlMs) return cached.members;
    const members = this.fetch(groupId);
    const entry: Entry = { at: now, members };
    this.cache.set(groupId, entry);
    // A failure is not cached: the next lookup asks again.
    members.catch(() => {
      if (this.cache.get(groupId) === entry) this.cache.delete(groupId);
    });
    return members;
  }

  async includes(principals: readonly string[], user: string): Promise<boolean> {
    if (principals.includes(user)) return true;
    const groups = [...new Set(principals.filter(isGroup))];
    const results = await Promise.allSettled(groups.map((g) => this.membersOf(g)));
    if (results.some((r) => r.status === 'fulfilled' && r.value.includes(user))) return true;
    // Not found in the groups we could read: if one could not be read, we cannot say "no".
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    return false;
  }

  private async fetch(groupId: string): Promise<readonly string[]> {
    try {
      const res = await this.client.usergroups.users.list({ usergroup: groupId });
      return Object.freeze([...(res.users ?? [])]);
    } catch (err) {
      const code = (err as { data?: { error?: unknown } } | undefined)?.data?.error;
      throw new DockhandError('slack', `list the members of user group ${groupId}: ${String(code ?? err)}`, {
        cause: err,
        hint:
          code === 'no_such_subteam'
            ? `Check the group id ${groupId} in dockhand.yml (Slack: the group's profile → Copy group ID).`
            : code === 'missing_scope'
              ? 'The Slack app needs the usergroups:read scope: update it from manifest.yml and reinstall it.'
              : undefined,
      });
    }
  }
}
