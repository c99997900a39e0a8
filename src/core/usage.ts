/**
 * The one source of every command's usage line: the parser's errors, /dockhand help and manifest.yml's
 * usage hints (a test keeps the manifest in step) all read these.
 */
export const COMMANDS = {
  deploy: {
    usage: '<service> [<git-ref> | image:<tag>] [to <env>] [--restart] [--dry-run] [--emergency <reason>]',
    description: 'Build, approve and roll out a service (no arguments: a form)',
  },
  promote: {
    usage: '<service> [from <env>] to <env> [--dry-run] [--emergency <reason>]',
    description: 'Deploy the image one environment runs to another (no from: the one listed before it)',
  },
  rollback: {
    usage: '<service> [to <env>] [<revision>] [--emergency <reason>]',
    description: 'Roll a service back to an earlier revision',
  },
  scale: {
    usage: '<service> <count> | <min>..<max> [in <env>] [--emergency <reason>]',
    description: 'Change how many tasks a service runs (or its auto scaling bounds)',
  },
  status: { usage: '[<service>] [in <env>]', description: 'Show what is running' },
  logs: { usage: '<service> [in <env>] [since <duration>] [grep <text>]', description: 'Show recent log lines' },
  dockhand: {
    usage:
      'help | lock <service> [in <env>] [reason…] | unlock <service> [in <env>] | history <service> [in <env>] | ips <service> [in <env>] | freeze [<env> [for <duration> | until <time>] [reason…]] | unfreeze <env>',
    description: 'Help, locks, freezes, history and IPs',
  },
} as const;

export type CommandName = keyof typeof COMMANDS;

export const usageOf = (command: CommandName): string => `/${command} ${COMMANDS[command].usage}`;

export const DOCKHAND_SUBCOMMANDS = {
  help: 'help',
  lock: 'lock <service> [in <env>] [reason…]',
  unlock: 'unlock <service> [in <env>]',
  history: 'history <service> [in <env>]',
  ips: 'ips <service> [in <env>]',
  freeze: 'freeze [<env> [for <duration> | until <time>] [reason…]]',
  unfreeze: 'unfreeze <env>',
} as const;
