/**
 * A linear-time regular expression engine for user-supplied redaction patterns: a safe subset of
 * JavaScript regex syntax (parsed in `_regex_parse.ts`), compiled to a Thompson NFA and run by a
 * Pike VM that finds leftmost-longest matches. Every input character is examined against at most one thread per
 * program instruction, so matching costs O(pattern size × input length) whatever the pattern
 * (`(a+)+$` and friends included); `stats.steps` counts the work so tests can prove it.
 * Supported: literals, escapes, `.`, classes `[…]`/`[^…]`, `\d \w \s \D \W \S`, `\b \B`, `^ $`,
 * groups `(…)`/`(?:…)`/`(?<n>…)` (not capturing), `|`, `* + ?`, `{n}`, `{n,}`, `{n,m}` (lazy
 * forms accepted and treated as greedy). Refused: backreferences and lookaround, which no
 * linear-time engine can run. Pipeline worker and config loader. Pure; never throws at match time.
 * @module
 */

import {
  type Assert,
  type CharSet,
  MAX_REPEAT,
  type Node,
  parsePattern,
  PatternSyntaxError,
} from "./_regex_parse.ts";

export { MAX_REPEAT, PatternSyntaxError };

/** Limits that keep a compiled pattern small. */
export const MAX_PATTERN_LENGTH = 2000;
export const MAX_PROGRAM_SIZE = 20_000;

// ── Program ──────────────────────────────────────────────────────────────────────────────────

const CHAR = 0, SPLIT = 1, JMP = 2, MATCH = 3, ASSERT = 4;

interface Program {
  op: Uint8Array;
  x: Int32Array;
  y: Int32Array;
  /** Per CHAR instruction: ASCII bitmap (4 words) + non-ASCII ranges + negate. */
  sets: (Matcher | null)[];
  asserts: (Assert | null)[];
}

interface Matcher {
  ascii: Uint32Array;
  ranges: number[];
  negate: boolean;
}

function matcher(set: CharSet): Matcher {
  const ascii = new Uint32Array(4);
  for (let i = 0; i < set.ranges.length; i += 2) {
    for (let c = set.ranges[i]; c <= Math.min(set.ranges[i + 1], 127); c++) {
      ascii[c >> 5] |= 1 << (c & 31);
    }
  }
  return {
    ascii,
    ranges: set.ranges.filter((_, i) => set.ranges[i | 1] > 127),
    negate: set.negate,
  };
}

function accepts(m: Matcher, c: number): boolean {
  let hit: boolean;
  if (c < 128) hit = (m.ascii[c >> 5] & (1 << (c & 31))) !== 0;
  else {
    hit = false;
    for (let i = 0; i < m.ranges.length; i += 2) {
      if (c >= m.ranges[i] && c <= m.ranges[i + 1]) {
        hit = true;
        break;
      }
    }
  }
  return hit !== m.negate;
}

class Compiler {
  readonly ops: { op: number; x: number; y: number; set?: Matcher; assert?: Assert }[] = [];

  emit(op: number, x = 0, y = 0): number {
    if (this.ops.length >= MAX_PROGRAM_SIZE) {
      throw new PatternSyntaxError(
        `invalid pattern: it compiles to more than ${MAX_PROGRAM_SIZE} instructions`,
        "use smaller repeat counts",
      );
    }
    this.ops.push({ op, x, y });
    return this.ops.length - 1;
  }

  node(n: Node): void {
    switch (n.t) {
      case "set":
        this.ops[this.emit(CHAR)].set = matcher(n.set);
        return;
      case "assert":
        this.ops[this.emit(ASSERT)].assert = n.kind;
        return;
      case "cat":
        for (const item of n.items) this.node(item);
        return;
      case "alt":
        return this.alt(n.items);
      case "rep":
        return this.rep(n.node, n.min, n.max);
    }
  }

  alt(items: Node[]): void {
    const jumps: number[] = [];
    for (let i = 0; i < items.length - 1; i++) {
      const split = this.emit(SPLIT);
      this.ops[split].x = this.ops.length;
      this.node(items[i]);
      jumps.push(this.emit(JMP));
      this.ops[split].y = this.ops.length;
    }
    this.node(items[items.length - 1]);
    for (const j of jumps) this.ops[j].x = this.ops.length;
  }

  rep(node: Node, min: number, max: number): void {
    for (let i = 0; i < min; i++) this.node(node);
    if (max === Infinity) {
      const split = this.emit(SPLIT);
      this.ops[split].x = this.ops.length;
      this.node(node);
      this.emit(JMP, split);
      this.ops[split].y = this.ops.length;
      return;
    }
    const splits: number[] = [];
    for (let i = min; i < max; i++) {
      const split = this.emit(SPLIT);
      this.ops[split].x = this.ops.length;
      splits.push(split);
      this.node(node);
    }
    for (const s of splits) this.ops[s].y = this.ops.length;
  }

  program(): Program {
    const n = this.ops.length;
    const p: Program = {
      op: new Uint8Array(n),
      x: new Int32Array(n),
      y: new Int32Array(n),
      sets: new Array(n).fill(null),
      asserts: new Array(n).fill(null),
    };
    this.ops.forEach((o, i) => {
      p.op[i] = o.op;
      p.x[i] = o.x;
      p.y[i] = o.y;
      p.sets[i] = o.set ?? null;
      p.asserts[i] = o.assert ?? null;
    });
    return p;
  }
}

// ── Matching ─────────────────────────────────────────────────────────────────────────────────

/** Work done by a search, for tests that prove linear time. */
export interface MatchStats {
  /** Thread visits; never more than WORK_PASSES × (program size + 1) × (input length + 1). */
  steps: number;
}

/**
 * Thread visits allowed per `matches()` call, in passes over the input: one pass is
 * (program size + 1) × (input length + 1) visits, the most a single search can take.
 */
export const WORK_PASSES = 4;

/** A compiled pattern. */
export interface LinearPattern {
  readonly source: string;
  readonly size: number;
  /** Whether the pattern can match the empty string (useless for redaction). */
  readonly canMatchEmpty: boolean;
  /** Every non-overlapping leftmost-longest match as [start, end) pairs. */
  matches(text: string, stats?: MatchStats): [number, number][];
}

/** Compile `source`; throws `PatternSyntaxError` for unsupported or oversized patterns. */
export function compilePattern(
  source: string,
  opts: { ignoreCase?: boolean } = {},
): LinearPattern {
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new PatternSyntaxError(`invalid pattern: longer than ${MAX_PATTERN_LENGTH} characters`);
  }
  const ast = parsePattern(source, opts.ignoreCase ?? false);
  const c = new Compiler();
  c.node(ast);
  c.emit(MATCH);
  return new Vm(source, c.program());
}

class Vm implements LinearPattern {
  readonly size: number;
  readonly canMatchEmpty: boolean;
  readonly #p: Program;
  // Two thread lists as sparse sets: pcs in order, plus each thread's start position.
  #cur: ThreadList;
  #next: ThreadList;
  readonly #stack: Int32Array;

  /** Code units a match can start with (ASCII bitmap; non-ASCII always allowed), or null. */
  readonly #first: Uint32Array | null;

  constructor(readonly source: string, program: Program) {
    this.#p = program;
    this.size = program.op.length;
    this.#first = firstChars(program);
    this.canMatchEmpty = this.#first === null;
    this.#cur = new ThreadList(this.size);
    this.#next = new ThreadList(this.size);
    this.#stack = new Int32Array(this.size * 2 + 2);
  }

  matches(text: string, stats?: MatchStats): [number, number][] {
    const out: [number, number][] = [];
    const work = { steps: 0, budget: WORK_PASSES * (this.size + 1) * (text.length + 1) };
    let from = 0;
    while (from <= text.length) {
      const m = this.#search(text, from, work);
      if (m === "budget") {
        // Restarting after each match re-reads text a longest-match extension already read;
        // past the budget the rest is treated as one match (fail closed: it gets redacted).
        if (from < text.length) out.push([from, text.length]);
        break;
      }
      if (!m) break;
      out.push(m);
      from = m[1] > m[0] ? m[1] : m[1] + 1;
    }
    if (stats) stats.steps += work.steps;
    return out;
  }

  #search(
    text: string,
    from: number,
    work: { steps: number; budget: number },
  ): [number, number] | null | "budget" {
    let cur = this.#cur, next = this.#next;
    cur.clear();
    let bestStart = -1, bestEnd = -1;
    for (let pos = from; pos <= text.length; pos++) {
      if (bestStart < 0) {
        if (cur.size === 0 && this.#first) {
          pos = this.#skip(text, pos);
          if (pos >= text.length) break;
        }
        this.#add(cur, 0, pos, pos, text);
      }
      if (cur.size === 0) {
        if (bestStart >= 0) break;
        cur.clear();
        continue;
      }
      next.clear();
      const c = pos < text.length ? text.charCodeAt(pos) : -1;
      if (work.steps + cur.size > work.budget) return "budget";
      work.steps += cur.size;
      for (let i = 0; i < cur.size; i++) {
        const pc = cur.pcs[i], start = cur.starts[i];
        if (this.#p.op[pc] === MATCH) {
          if (bestStart < 0 || start < bestStart || (start === bestStart && pos > bestEnd)) {
            bestStart = start;
            bestEnd = pos;
          }
          continue;
        }
        if (bestStart >= 0 && start > bestStart) continue;
        if (c >= 0 && accepts(this.#p.sets[pc]!, c)) this.#add(next, pc + 1, start, pos + 1, text);
      }
      [cur, next] = [next, cur];
    }
    this.#cur = cur;
    this.#next = next;
    return bestStart < 0 ? null : [bestStart, bestEnd];
  }

  /** The first position ≥ `pos` whose code unit can start a match (`text.length` if none). */
  #skip(text: string, pos: number): number {
    const f = this.#first!;
    for (; pos < text.length; pos++) {
      const c = text.charCodeAt(pos);
      if (c >= 128 || (f[c >> 5] & (1 << (c & 31))) !== 0) return pos;
    }
    return pos;
  }

  /** Follow jumps, splits and assertions from `pc` at `pos`; add CHAR and MATCH threads. */
  #add(list: ThreadList, pc0: number, start: number, pos: number, text: string): void {
    const p = this.#p, stack = this.#stack;
    let sp = 0;
    stack[sp++] = pc0;
    while (sp > 0) {
      const pc = stack[--sp];
      if (list.has(pc)) continue;
      list.mark(pc);
      const op = p.op[pc];
      if (op === JMP) stack[sp++] = p.x[pc];
      else if (op === SPLIT) {
        stack[sp++] = p.y[pc];
        stack[sp++] = p.x[pc];
      } else if (op === ASSERT) {
        if (holds(p.asserts[pc]!, text, pos)) stack[sp++] = pc + 1;
      } else list.push(pc, start);
    }
  }
}

/** ASCII code units that can start a match, or null when a match can be empty. */
function firstChars(p: Program): Uint32Array | null {
  const out = new Uint32Array(4);
  const seen = new Uint8Array(p.op.length);
  const stack = [0];
  while (stack.length > 0) {
    const pc = stack.pop()!;
    if (seen[pc]) continue;
    seen[pc] = 1;
    const op = p.op[pc];
    if (op === MATCH) return null;
    if (op === JMP) stack.push(p.x[pc]);
    else if (op === SPLIT) stack.push(p.x[pc], p.y[pc]);
    else if (op === ASSERT) stack.push(pc + 1);
    else {
      const m = p.sets[pc]!;
      for (let c = 0; c < 128; c++) if (accepts(m, c)) out[c >> 5] |= 1 << (c & 31);
    }
  }
  return out;
}

class ThreadList {
  readonly pcs: Int32Array;
  readonly starts: Int32Array;
  readonly #seen: Uint32Array;
  #gen = 1;
  size = 0;

  constructor(n: number) {
    this.pcs = new Int32Array(n);
    this.starts = new Int32Array(n);
    this.#seen = new Uint32Array(n);
  }

  clear(): void {
    this.size = 0;
    this.#gen++;
    if (this.#gen === 0xffffffff) {
      this.#seen.fill(0);
      this.#gen = 1;
    }
  }

  has(pc: number): boolean {
    return this.#seen[pc] === this.#gen;
  }

  mark(pc: number): void {
    this.#seen[pc] = this.#gen;
  }

  push(pc: number, start: number): void {
    this.pcs[this.size] = pc;
    this.starts[this.size++] = start;
  }
}

function isWord(text: string, i: number): boolean {
  if (i < 0 || i >= text.length) return false;
  const c = text.charCodeAt(i);
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function holds(kind: Assert, text: string, pos: number): boolean {
  switch (kind) {
    case "bol":
      return pos === 0;
    case "eol":
      return pos === text.length;
    case "word":
      return isWord(text, pos - 1) !== isWord(text, pos);
    case "notword":
      return isWord(text, pos - 1) === isWord(text, pos);
  }
}
