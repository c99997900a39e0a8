/**
 * Block Kit action ids: the one place they live. Card builders put them on buttons; listeners register on them.
 * They are stable (DESIGN.md §3.2): a card posted by an older version must still work after a deploy of dockhand.
 */
export const ACTIONS = {
  approve: 'approval.approve',
  /** Approve of an image the scan gate holds (approvals.<name>.blockOn): opens the reason dialog. */
  approveWithReason: 'approval.approve_with_reason',
  reject: 'approval.reject',
  abort: 'deploy.abort',
  rollback: 'deploy.rollback',
  cancel: 'deploy.cancel',
} as const;

export type ActionId = (typeof ACTIONS)[keyof typeof ACTIONS];
