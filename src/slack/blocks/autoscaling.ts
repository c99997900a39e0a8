import type { AutoScalingStatus } from '../../core/operate/autoscaling.ts';
import type { AutoScalingDetail } from '../../core/runtime.ts';
import { code, date, LIMITS, lines, safe, truncate } from '../mrkdwn.ts';
import type { Card, KnownBlock } from './types.ts';

/** "ECSServiceAverageCPUUtilization" → "CPU utilization"; other metrics as AWS names them. */
const metricName = (metric: string): string =>
  ({
    ECSServiceAverageCPUUtilization: 'CPU utilization',
    ECSServiceAverageMemoryUtilization: 'memory utilization',
    ALBRequestCountPerTarget: 'requests per target',
  })[metric] ?? metric;

const policyLine = (p: AutoScalingDetail['policies'][number]): string => {
  const tracks =
    p.targetValue !== undefined && p.metric !== undefined
      ? ` — keeps ${safe(metricName(p.metric), 100)} at ${p.targetValue}`
      : p.metric !== undefined
        ? ` — ${safe(metricName(p.metric), 100)}`
        : '';
  return `• ${code(truncate(p.name, 200))} ${safe(p.type, 60)}${tracks}`;
};

const activityLine = (a: AutoScalingDetail['activities'][number]): string =>
  `• ${date(a.at)} ${safe(a.status, 30)}: ${safe(a.description, 200)}${a.cause ? ` _(${safe(a.cause, 200)})_` : ''}`;

/** The auto scaling section of a /status card: the bounds, the policies, the last activities. */
export const autoScalingBlocks = (
  detail: AutoScalingDetail,
  where: { service: string; environment: string },
): KnownBlock[] => {
  const command = code(`/scale ${where.service} <min>..<max> in ${where.environment}`);
  const parts = [
    `*Auto scaling* between ${detail.min} and ${detail.max} tasks: it sets the count; ${command} changes these bounds.`,
    detail.policies.length > 0 ? `*Policies*\n${lines(detail.policies.map(policyLine), 1200)}` : '*Policies*\nnone',
    detail.activities.length > 0
      ? `*Last scaling activities*\n${lines(detail.activities.map(activityLine), 1200)}`
      : '*Last scaling activities*\nnone',
  ];
  return [{ type: 'section', text: { type: 'mrkdwn', text: truncate(parts.join('\n'), LIMITS.sectionText) } }];
};

/** A /status card with the service's auto scaling after its other blocks (unchanged without auto scaling). */
export const withAutoScaling = <C extends Card>(
  card: C,
  status: AutoScalingStatus,
  where: { service: string; environment: string },
): C => {
  if (status === undefined) return card;
  const blocks: KnownBlock[] =
    'detail' in status
      ? autoScalingBlocks(status.detail, where)
      : [
          {
            type: 'context',
            elements: [
              { type: 'mrkdwn', text: `:warning: *Auto scaling* could not be read: ${safe(status.unreadable, 1500)}` },
            ],
          },
        ];
  return { ...card, blocks: [...card.blocks, ...blocks] };
};
