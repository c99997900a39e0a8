import type { MessageRef, Notifier, OutgoingMessage } from '../../src/ports.ts';

/** A notifier that keeps the text of every posted alert, in order (watch tests read what a channel was told). */
export class PostedTexts implements Notifier {
  readonly texts: string[] = [];
  async post(channel: string, message: OutgoingMessage): Promise<MessageRef> {
    this.texts.push(message.text);
    return { channel, ts: String(this.texts.length) };
  }
  async update(): Promise<void> {}
  async updateNow(): Promise<void> {}
  async ephemeral(): Promise<void> {}
  async flush(): Promise<void> {}
}
