// Types for render.js (plain JavaScript, loaded as-is by the console page and imported by the unit tests).

export interface RenderContext {
  /** User id → name, so that <@U…> reads as @name. */
  users?: Record<string, string>;
  /** User-group id → handle, so that <!subteam^S…> reads as @handle. */
  groups?: Record<string, string>;
}

export function escapeHtml(value: unknown): string;
export function renderMrkdwn(text: unknown, ctx?: RenderContext): string;
export function renderText(obj: unknown, ctx?: RenderContext): string;
export function renderBlocks(blocks: unknown[] | undefined, ctx?: RenderContext): string;
export function elementAt(blocks: unknown[] | undefined, where: string): Record<string, unknown> | undefined;
