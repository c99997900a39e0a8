import type { RefusalView } from '../../core/deploy/view.ts';
import { safe } from '../mrkdwn.ts';

/** A user (`<@U…>`) or, for an id starting with S, a user group (`<!subteam^S…>`) named in a refusal. */
const mention = (id: string): string => (id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`);

/** The text of a deployment refusal that names people or shows what someone typed. */
export const deployRefusalText = (refusal: RefusalView): string => {
  switch (refusal.kind) {
    case 'locked': {
      const { service, environment, deployment } = refusal;
      // The reason is free text typed with /dockhand lock: shown as text, never as a link or a mention, and masked.
      const why = refusal.reason ? `: ${safe(refusal.reason, 500)}` : '';
      const what = deployment
        ? `deployment #${deployment.seq} (${deployment.state.replace('_', ' ')}) requested by ${mention(deployment.requestedBy)}`
        : `${mention(refusal.holder)}`;
      if (refusal.manual) {
        const since = refusal.acquiredAt
          .toISOString()
          .replace(/:\d\d\.\d+Z$/, ' UTC')
          .replace('T', ' ');
        return `\`${service}\` in \`${environment}\` is locked by ${what} since ${since}${why}. Nothing was changed; ask them, or an approver, to run \`/dockhand unlock ${service} in ${environment}\`.`;
      }
      return `\`${service}\` in \`${environment}\` is locked by ${what}${why}. Try again when it is done.`;
    }
  }
};
