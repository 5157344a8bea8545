/**
 * Incremental length-prefixed frame reader for one connection.
 * Main thread (ack path). Checks every claimed length against the version's limit before keeping
 * a single byte of the frame, and holds only the bytes that really arrived: a frame's claimed
 * length is never allocated up front. Emits body views that are valid only during the callback.
 * @module
 */

/** Why a connection must be closed; stable codes for metrics labels. */
export type FrameErrorCode = "zero_length" | "oversize";

export interface FrameError {
  code: FrameErrorCode;
  length: number;
}

/** Called once per whole frame with its body (v2: type byte + payload). */
export type FrameSink = (body: Uint8Array) => void;

export class FrameReader {
  readonly #maxLength: number;
  #parts: Uint8Array[] = [];
  #partsLength = 0;
  /** Total bytes (header + body) of the frame being collected, or -1 while its header is short. */
  #need = -1;

  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#partsLength;
  }

  /**
   * Feed bytes just read. Calls `onFrame` for each complete frame; returns an error (and stops)
   * at the first length the protocol forbids.
   */
  feed(data: Uint8Array, onFrame: FrameSink): FrameError | null {
    let off = 0;
    if (this.#partsLength > 0) {
      const res = this.#continuePending(data, onFrame);
      if (typeof res !== "number") return res;
      off = res;
    }
    const end = data.length;
    while (off + 4 <= end) {
      const n = readU32(data, off);
      const err = this.#check(n);
      if (err) return err;
      if (off + 4 + n > end) break;
      onFrame(data.subarray(off + 4, off + 4 + n));
      off += 4 + n;
    }
    if (off < end) return this.#startPending(data.subarray(off));
    return null;
  }

  #check(n: number): FrameError | null {
    if (n === 0) return { code: "zero_length", length: 0 };
    if (n > this.#maxLength) return { code: "oversize", length: n };
    return null;
  }

  #startPending(rest: Uint8Array): FrameError | null {
    this.#parts.push(rest.slice());
    this.#partsLength = rest.length;
    if (rest.length >= 4) {
      const n = readU32(rest, 0);
      const err = this.#check(n);
      if (err) return err;
      this.#need = 4 + n;
    }
    return null;
  }

  /** Returns the offset in `data` after the pending frame, or an error. */
  #continuePending(data: Uint8Array, onFrame: FrameSink): number | FrameError {
    let off = 0;
    if (this.#need < 0) {
      const take = Math.min(4 - this.#partsLength, data.length);
      this.#push(data.subarray(0, take));
      off = take;
      if (this.#partsLength < 4) return off;
      const head = concat(this.#parts, this.#partsLength);
      this.#parts = [head];
      const n = readU32(head, 0);
      const err = this.#check(n);
      if (err) return err;
      this.#need = 4 + n;
    }
    const take = Math.min(this.#need - this.#partsLength, data.length - off);
    this.#push(data.subarray(off, off + take));
    off += take;
    if (this.#partsLength < this.#need) return off;
    const frame = concat(this.#parts, this.#partsLength);
    this.#parts = [];
    this.#partsLength = 0;
    this.#need = -1;
    onFrame(frame.subarray(4));
    return off;
  }

  #push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#parts.push(bytes.slice());
    this.#partsLength += bytes.length;
  }
}

/** Read a big-endian u32 at `off`. */
export function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) >>> 0) + (b[off + 1] << 16) + (b[off + 2] << 8) + b[off + 3];
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0].length === total) return parts[0];
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
