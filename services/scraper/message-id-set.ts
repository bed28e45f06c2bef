/**
 * Which (chat, message id) pairs an export has shown so far, to find ids that repeat. Exports hold
 * millions of messages with dense ids, so each chat's ids are bits in pages of a bitmap (one page
 * per 32,768 consecutive ids) rather than entries of a Set: memory stays about an eighth of a byte
 * per id however large the export, and a stray huge id costs one page.
 */

const PAGE_BITS = 1 << 15;
const WORDS_PER_PAGE = PAGE_BITS / 32;

class IdBitmap {
  private readonly pages = new Map<number, Uint32Array>();

  /** Marks `id` (any safe integer); true when it was not marked before. */
  add(id: number): boolean {
    // Negative ids get pages of their own: page numbers below zero.
    const page = Math.floor(id / PAGE_BITS);
    const bit = id - page * PAGE_BITS;
    let words = this.pages.get(page);
    if (!words) this.pages.set(page, (words = new Uint32Array(WORDS_PER_PAGE)));
    const word = bit >>> 5;
    const mask = 1 << (bit & 31);
    if (words[word]! & mask) return false;
    words[word] = words[word]! | mask;
    return true;
  }
}

export class MessageIdSet {
  private readonly chats = new Map<string, IdBitmap>();

  /** Marks the message; true when this (chat, id) was not seen before. */
  add(chatId: string, messageId: number): boolean {
    let bitmap = this.chats.get(chatId);
    if (!bitmap) this.chats.set(chatId, (bitmap = new IdBitmap()));
    return bitmap.add(messageId);
  }
}
