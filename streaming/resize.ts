// Terminal resize messages: JSON objects {"Width":w,"Height":h} one after another on the resize stream (Go's
// json.Encoder, so usually newline-separated, but a message may arrive split or several at once).
import type { TerminalSize } from './runtime.js';

/** Resize stream bytes held before the client is considered broken (a size is ~30 bytes). */
const MAX_PENDING = 4096;

export class ResizeDecoder {
  private pending = '';

  /** The complete sizes in `chunk` (with what earlier chunks left); malformed objects are skipped. */
  push(chunk: Buffer): TerminalSize[] {
    this.pending += chunk.toString('utf8');
    const sizes: TerminalSize[] = [];
    for (;;) {
      const start = this.pending.indexOf('{');
      if (start < 0) {
        this.pending = '';
        break;
      }
      const end = this.pending.indexOf('}', start);
      if (end < 0) {
        this.pending = this.pending.slice(start);
        if (this.pending.length > MAX_PENDING) throw new Error(`resize stream: ${String(this.pending.length)} bytes without a complete message`);
        break;
      }
      const text = this.pending.slice(start, end + 1);
      this.pending = this.pending.slice(end + 1);
      const size = parseSize(text);
      if (size) sizes.push(size);
    }
    return sizes;
  }
}

function parseSize(text: string): TerminalSize | undefined {
  try {
    const v = JSON.parse(text) as { Width?: unknown; Height?: unknown };
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff;
    return ok(v.Width) && ok(v.Height) ? { width: v.Width, height: v.Height } : undefined;
  } catch {
    return undefined;
  }
}
