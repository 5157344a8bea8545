/**
 * A validating single-pass JSON scanner that finds top-level string fields without building
 * objects. Main thread (ack path): it replaces JSON.parse there, which costs too much per frame.
 * Checks the grammar (structure, strings, their escapes and the absence of raw control
 * characters in them, numbers, literals, nothing after the value); UTF-8 validity is left to
 * the worker's full parse.
 * @module
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_DEPTH = 256;

/** Byte range of a string's raw (still escaped) contents, without the quotes. */
export interface RawString {
  start: number;
  end: number;
}

/** What the scanner found: the wanted top-level keys' raw string values, if present. */
export type ScanResult = Map<string, RawString> | null;

const enc = new TextEncoder();
const td = new TextDecoder();

/** Pre-encoded keys a scan looks for at depth 1. */
export class KeySet {
  readonly keys: { name: string; bytes: Uint8Array }[];
  constructor(names: string[]) {
    this.keys = names.map((name) => ({ name, bytes: enc.encode(name) }));
  }
}

/**
 * Validate `buf[start..end)` as one JSON value (an object) and collect the raw string values of
 * the wanted keys at depth 1. Returns null when the text is not valid JSON.
 */
export function scanJsonObject(
  buf: Uint8Array,
  start: number,
  end: number,
  want: KeySet,
): ScanResult {
  const s = new Scanner(buf, end, want);
  let i = s.ws(start);
  if (buf[i] !== 0x7b) return null;
  i = s.object(i, 1);
  if (i < 0) return null;
  i = s.ws(i);
  return i === end ? s.found : null;
}

class Scanner {
  readonly found = new Map<string, RawString>();
  /** Cached next-quote and next-backslash positions; -2 = not searched yet, -1 = none left. */
  #quote = -2;
  #backslash = -2;
  /** Whether the last string scanned held an escape. */
  #escaped = false;
  constructor(readonly b: Uint8Array, readonly end: number, readonly want: KeySet) {}

  ws(i: number): number {
    const b = this.b;
    while (i < this.end) {
      const c = b[i];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    return i;
  }

  /** `i` at `{`; returns the index after `}` or -1. */
  object(i: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    i = this.ws(i + 1);
    if (this.b[i] === 0x7d) return i + 1;
    for (;;) {
      if (this.b[i] !== QUOTE) return -1;
      const keyStart = i + 1;
      i = this.string(i);
      if (i < 0) return -1;
      const keyEnd = i - 1;
      const keyEscaped = this.#escaped;
      i = this.ws(i);
      if (this.b[i] !== 0x3a) return -1;
      i = this.ws(i + 1);
      const valueStart = i;
      i = this.value(i, depth);
      if (i < 0) return -1;
      if (depth === 1) this.#record(keyStart, keyEnd, keyEscaped, valueStart, i);
      i = this.ws(i);
      const c = this.b[i];
      if (c === 0x2c) i = this.ws(i + 1);
      else if (c === 0x7d) return i + 1;
      else return -1;
    }
  }

  /**
   * A depth-1 member: keep a wanted key's string value. Like JSON.parse, the last occurrence of
   * a repeated key wins (a non-string last value means "no string value").
   */
  #record(
    keyStart: number,
    keyEnd: number,
    keyEscaped: boolean,
    valueStart: number,
    valueEnd: number,
  ): void {
    const name = this.#wantedKey(keyStart, keyEnd, keyEscaped);
    if (name === undefined) return;
    if (this.b[valueStart] === QUOTE) {
      this.found.set(name, { start: valueStart + 1, end: valueEnd - 1 });
    } else {
      this.found.delete(name);
    }
  }

  /** The wanted key spelled by the raw key bytes (escapes decoded on the rare path), if any. */
  #wantedKey(keyStart: number, keyEnd: number, escaped: boolean): string | undefined {
    const len = keyEnd - keyStart;
    if (escaped) {
      let key: unknown;
      try {
        key = JSON.parse(td.decode(this.b.subarray(keyStart - 1, keyEnd + 1)));
      } catch {
        // A raw control character in the key: not a key we look for; the worker's full
        // parse rejects the event and counts it.
        return undefined;
      }
      return this.want.keys.find((k) => k.name === key)?.name;
    }
    for (const k of this.want.keys) {
      if (k.bytes.length !== len) continue;
      let same = true;
      for (let j = 0; j < len && same; j++) same = this.b[keyStart + j] === k.bytes[j];
      if (same) return k.name;
    }
    return undefined;
  }

  array(i: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    i = this.ws(i + 1);
    if (this.b[i] === 0x5d) return i + 1;
    for (;;) {
      i = this.value(i, depth);
      if (i < 0) return -1;
      i = this.ws(i);
      const c = this.b[i];
      if (c === 0x2c) i = this.ws(i + 1);
      else if (c === 0x5d) return i + 1;
      else return -1;
    }
  }

  value(i: number, depth: number): number {
    if (i >= this.end) return -1;
    const c = this.b[i];
    if (c === QUOTE) return this.string(i);
    if (c === 0x7b) return this.object(i, depth + 1);
    if (c === 0x5b) return this.array(i, depth + 1);
    if (c === 0x74) return this.literal(i, TRUE);
    if (c === 0x66) return this.literal(i, FALSE);
    if (c === 0x6e) return this.literal(i, NULL);
    return this.number(i);
  }

  /**
   * `i` at the opening quote; returns the index after the closing quote or -1. The next quote
   * and next backslash positions are remembered across calls and only searched again once the
   * scan has passed them, so every byte is searched at most once per kind: linear in the frame,
   * whatever mix of strings and escapes a client sends.
   */
  string(i: number): number {
    let j = i + 1;
    this.#escaped = false;
    for (;;) {
      if (this.#quote < j) this.#quote = this.#find(QUOTE, j);
      const q = this.#quote;
      if (q < 0) return -1;
      if (this.#backslash < j && this.#backslash !== -1) this.#backslash = this.#find(BACKSLASH, j);
      const bs = this.#backslash;
      if (bs < 0 || bs > q) return this.#noControl(i + 1, q) ? q + 1 : -1;
      j = this.escape(bs);
      if (j < 0) return -1;
      this.#escaped = true;
    }
  }

  /** JSON forbids raw control characters (below 0x20) inside strings. */
  #noControl(from: number, to: number): boolean {
    const b = this.b;
    for (let k = from; k < to; k++) if (b[k] < 0x20) return false;
    return true;
  }

  /** Next position of `byte` at or after `from`, or -1 (never searched again once -1). */
  #find(byte: number, from: number): number {
    const at = this.b.indexOf(byte, from);
    return at < 0 || at >= this.end ? -1 : at;
  }

  /** `i` at a backslash; returns the index after the escape sequence or -1. */
  escape(i: number): number {
    const c = this.b[i + 1];
    if (
      c === QUOTE || c === BACKSLASH || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e ||
      c === 0x72 || c === 0x74
    ) return i + 2;
    if (c !== 0x75 || i + 6 > this.end) return -1;
    for (let k = i + 2; k < i + 6; k++) if (!isHex(this.b[k])) return -1;
    return i + 6;
  }

  literal(i: number, word: Uint8Array): number {
    if (i + word.length > this.end) return -1;
    for (let k = 0; k < word.length; k++) if (this.b[i + k] !== word[k]) return -1;
    return i + word.length;
  }

  number(i: number): number {
    const b = this.b;
    if (b[i] === 0x2d) i++;
    if (b[i] === 0x30) i++;
    else if (isDigit(b[i]) && i < this.end) i = this.digits(i);
    else return -1;
    if (b[i] === 0x2e && i < this.end) {
      if (!isDigit(b[i + 1]) || i + 1 >= this.end) return -1;
      i = this.digits(i + 1);
    }
    if ((b[i] === 0x65 || b[i] === 0x45) && i < this.end) {
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      if (!isDigit(b[i]) || i >= this.end) return -1;
      i = this.digits(i);
    }
    return i;
  }

  digits(i: number): number {
    while (i < this.end && isDigit(this.b[i])) i++;
    return i;
  }
}

const TRUE = enc.encode("true");
const FALSE = enc.encode("false");
const NULL = enc.encode("null");

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}
