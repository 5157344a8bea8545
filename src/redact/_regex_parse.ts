/**
 * The parser of the linear-time regex engine: a safe subset of JavaScript regex syntax to an AST
 * of character sets, concatenations, alternations, bounded repeats and assertions. Refuses
 * backreferences and lookaround (no linear-time engine can run them). Pure; used by
 * `linear_regex.ts` only.
 * @module
 */

/** A pattern that cannot be compiled; `hint` says what to write instead. */
export class PatternSyntaxError extends Error {
  readonly code = "redact_pattern_invalid";
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = "PatternSyntaxError";
  }
}

/** Largest repeat count accepted in `{n,m}`. */
export const MAX_REPEAT = 1000;

/** Sorted, merged inclusive UTF-16 ranges, possibly negated. */
export interface CharSet {
  /** Sorted, merged inclusive ranges [lo, hi, lo, hi, …] of UTF-16 code units. */
  ranges: number[];
  negate: boolean;
}

/** The parsed pattern. */
export type Node =
  | { t: "set"; set: CharSet }
  | { t: "cat"; items: Node[] }
  | { t: "alt"; items: Node[] }
  | { t: "rep"; node: Node; min: number; max: number }
  | { t: "assert"; kind: Assert };

/** Zero-width assertions. */
export type Assert = "bol" | "eol" | "word" | "notword";

const DIGIT = [48, 57];
const WORD = [48, 57, 65, 90, 95, 95, 97, 122];
const SPACE = [
  9,
  13,
  32,
  32,
  160,
  160,
  0x1680,
  0x1680,
  0x2000,
  0x200a,
  0x2028,
  0x2029,
  0x202f,
  0x202f,
  0x205f,
  0x205f,
  0x3000,
  0x3000,
  0xfeff,
  0xfeff,
];

class Parser {
  #i = 0;
  constructor(readonly src: string, readonly ignoreCase: boolean) {}

  parse(): Node {
    const node = this.#alt();
    if (this.#i < this.src.length) this.#fail(`unmatched ")" at offset ${this.#i}`);
    return node;
  }

  #fail(message: string, hint?: string): never {
    throw new PatternSyntaxError(`invalid pattern: ${message}`, hint);
  }

  #peek(): string {
    return this.src[this.#i];
  }

  #alt(): Node {
    const items = [this.#cat()];
    while (this.#peek() === "|") {
      this.#i++;
      items.push(this.#cat());
    }
    return items.length === 1 ? items[0] : { t: "alt", items };
  }

  #cat(): Node {
    const items: Node[] = [];
    while (this.#i < this.src.length && this.#peek() !== "|" && this.#peek() !== ")") {
      items.push(this.#quantified(this.#atom()));
    }
    return { t: "cat", items };
  }

  #quantified(atom: Node): Node {
    let node = atom;
    for (;;) {
      const c = this.#peek();
      let min: number, max: number;
      if (c === "*") [min, max] = [0, Infinity];
      else if (c === "+") [min, max] = [1, Infinity];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{" && /^\{\d+(,\d*)?\}/.test(this.src.slice(this.#i))) {
        [min, max] = this.#braces();
        this.#i--;
      } else return node;
      this.#i++;
      if (this.#peek() === "?") this.#i++; // lazy: same matches under leftmost-longest
      if (node.t === "assert") this.#fail("a quantifier follows an assertion");
      node = { t: "rep", node, min, max };
    }
  }

  #braces(): [number, number] {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.#i))!;
    this.#i += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
    if (min > max) this.#fail(`repeat {${min},${max}} has min above max`);
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) {
      this.#fail(`repeat counts above ${MAX_REPEAT} are not allowed`);
    }
    return [min, max];
  }

  #atom(): Node {
    const c = this.src[this.#i++];
    switch (c) {
      case "(":
        return this.#group();
      case "[":
        return this.#set(this.#class());
      case ".":
        return this.#set({ ranges: [10, 10, 13, 13, 0x2028, 0x2029], negate: true });
      case "^":
        return { t: "assert", kind: "bol" };
      case "$":
        return { t: "assert", kind: "eol" };
      case "\\":
        return this.#escapeAtom();
      case "*":
      case "+":
      case "?":
        return this.#fail(`nothing to repeat before "${c}"`);
      case "{":
      case "}":
      case "]":
        return this.#literal(c.charCodeAt(0));
      default:
        return this.#literal(c.charCodeAt(0));
    }
  }

  #group(): Node {
    if (this.#peek() === "?") {
      const rest = this.src.slice(this.#i, this.#i + 3);
      if (rest.startsWith("?:")) this.#i += 2;
      else if (/^\?<[A-Za-z_]/.test(rest)) {
        const end = this.src.indexOf(">", this.#i);
        if (end < 0) this.#fail("unterminated group name");
        this.#i = end + 1;
      } else {
        this.#fail(
          "lookahead and lookbehind are not supported",
          "linear-time matching cannot run lookaround; match the text itself instead",
        );
      }
    }
    const node = this.#alt();
    if (this.#peek() !== ")") this.#fail('missing ")"');
    this.#i++;
    return node;
  }

  #escapeAtom(): Node {
    const c = this.src[this.#i];
    if (c === "b" || c === "B") {
      this.#i++;
      return { t: "assert", kind: c === "b" ? "word" : "notword" };
    }
    if (c !== undefined && /[1-9]/.test(c)) {
      this.#fail(
        "backreferences are not supported",
        "linear-time matching cannot compare with an earlier group",
      );
    }
    if (c === "k" && this.src[this.#i + 1] === "<") this.#fail("backreferences are not supported");
    return this.#set(this.#escape());
  }

  /** After `\`: a class escape or one code unit, as a set. */
  #escape(): CharSet {
    const c = this.src[this.#i++];
    if (c === undefined) this.#fail("pattern ends with \\");
    const classes: Record<string, CharSet> = {
      d: { ranges: DIGIT, negate: false },
      D: { ranges: DIGIT, negate: true },
      w: { ranges: WORD, negate: false },
      W: { ranges: WORD, negate: true },
      s: { ranges: SPACE, negate: false },
      S: { ranges: SPACE, negate: true },
    };
    if (Object.hasOwn(classes, c)) return classes[c];
    const code = this.#escapeCode(c);
    return { ranges: [code, code], negate: false };
  }

  #escapeCode(c: string): number {
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, v: 11, f: 12, "0": 0 };
    if (Object.hasOwn(simple, c)) return simple[c];
    if (c === "x" || c === "u") {
      const len = c === "x" ? 2 : 4;
      const hex = this.src.slice(this.#i, this.#i + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.#fail(`bad \\${c} escape`);
      this.#i += len;
      return parseInt(hex, 16);
    }
    if (/[A-Za-z]/.test(c)) this.#fail(`unknown escape \\${c}`);
    return c.charCodeAt(0);
  }

  #class(): CharSet {
    const negate = this.#peek() === "^";
    if (negate) this.#i++;
    const ranges: number[] = [];
    let first = true;
    while (this.#peek() !== "]" || first) {
      first = false;
      if (this.#i >= this.src.length) this.#fail('missing "]"');
      const lo = this.#classAtom(ranges);
      if (lo === null) continue;
      if (this.#peek() === "-" && this.src[this.#i + 1] !== "]" && this.#i + 1 < this.src.length) {
        this.#i++;
        const hi = this.#classAtom(ranges);
        if (hi === null) this.#fail("a range ends in a class escape");
        if (hi < lo) this.#fail("a class range is out of order");
        ranges.push(lo, hi);
      } else ranges.push(lo, lo);
    }
    this.#i++;
    return { ranges: normalize(ranges), negate };
  }

  /** One class member: a code unit, or null after pushing a class escape's ranges. */
  #classAtom(ranges: number[]): number | null {
    const c = this.src[this.#i++];
    if (c !== "\\") return c.charCodeAt(0);
    if (this.#peek() === "b") {
      this.#i++;
      return 8;
    }
    const set = this.#escape();
    if (set.ranges.length === 2 && set.ranges[0] === set.ranges[1] && !set.negate) {
      return set.ranges[0];
    }
    ranges.push(...(set.negate ? invert(set.ranges) : set.ranges));
    return null;
  }

  #literal(code: number): Node {
    return this.#set({ ranges: [code, code], negate: false });
  }

  #set(set: CharSet): Node {
    return { t: "set", set: this.ignoreCase ? foldCase(set) : set };
  }
}

/** Parse `source`; throws PatternSyntaxError. */
export function parsePattern(source: string, ignoreCase: boolean): Node {
  return new Parser(source, ignoreCase).parse();
}

function normalize(r: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i], r[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], hi);
    else out.push(lo, hi);
  }
  return out;
}

function invert(r: number[]): number[] {
  const n = normalize(r);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < n.length; i += 2) {
    if (n[i] > next) out.push(next, n[i] - 1);
    next = n[i + 1] + 1;
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

/** ASCII case folding: adds the other case of every letter range. */
function foldCase(set: CharSet): CharSet {
  const extra: number[] = [];
  for (let i = 0; i < set.ranges.length; i += 2) {
    const lo = set.ranges[i], hi = set.ranges[i + 1];
    const a = Math.max(lo, 65), b = Math.min(hi, 90);
    if (a <= b) extra.push(a + 32, b + 32);
    const c = Math.max(lo, 97), d = Math.min(hi, 122);
    if (c <= d) extra.push(c - 32, d - 32);
  }
  return { ranges: normalize([...set.ranges, ...extra]), negate: set.negate };
}
