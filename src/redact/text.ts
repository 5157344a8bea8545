/**
 * Redacts free text: runs the enabled detectors and user patterns, merges their spans and
 * replaces each by its action's output (`[REDACTED:<rule>]`, `[HMAC:<key-id>:…]`, or nothing).
 * Percent-encoded text is decoded for detection (`john%40example.com` is an email) and the
 * replacement is spliced into the text as it was sent, so everything else stays byte for byte.
 * Text longer than `max-scan-chars` is cut there and marked `[TRUNCATED]`. Pipeline worker.
 * @module
 */

import type { RedactAction } from "../config/types.ts";
import {
  detect,
  type Detector,
  DETECTORS,
  mergeSpans,
  MIN_DETECTABLE_LENGTH,
  type Span,
} from "./detectors.ts";
import type { KeyedHasher } from "./keyed_hash.ts";
import type { CompiledPattern, RedactionPolicy } from "./policy.ts";

/** Counts one redaction by rule name (bounded: detector, pattern and rule names). */
export type RedactionCounter = (rule: string) => void;

/** Results remembered by input text, with the rules each counted. */
export type Memo = Map<string, { out: string; rules: string[] }>;

/** Marker appended to text cut at `max-scan-chars`. */
export const TRUNCATED = "[TRUNCATED]";

/** Free-text redaction with one policy. */
export class TextScrubber {
  readonly #detectors: Detector[];
  readonly #actions: Map<string, RedactAction>;
  readonly #patterns: CompiledPattern[];
  readonly #hasher: KeyedHasher | null;
  readonly #count: RedactionCounter;
  readonly #max: number;
  /** Shorter text cannot match: built-ins need 6 characters; user patterns may need fewer. */
  readonly #minLength: number;
  /** Recent texts and their results (user agents, referers and headers repeat a lot). */
  readonly #memo: Memo = new Map();
  #rules: string[] | null = null;

  constructor(policy: RedactionPolicy, hasher: KeyedHasher | null, count: RedactionCounter) {
    this.#detectors = DETECTORS.filter((d) => policy.detectors.has(d.name));
    this.#actions = new Map(policy.detectors);
    for (const p of policy.patterns) this.#actions.set(p.name, p.action);
    this.#patterns = policy.patterns;
    this.#hasher = hasher;
    this.#count = count;
    this.#max = policy.maxScanChars;
    this.#minLength = policy.patterns.length > 0 ? 1 : MIN_DETECTABLE_LENGTH;
  }

  /** `text` with every detected value replaced (the same string when nothing matched). */
  scan(text: string): string {
    if (text.length < this.#minLength) return text;
    if (text.length === 36 && this.#patterns.length === 0 && UUID.test(text)) return text;
    return this.memoized(this.#memo, text, (t) => this.#scan(t));
  }

  /**
   * `compute(text)`, remembered in `memo` for texts up to MEMO_MAX_CHARS (paths, queries and
   * headers repeat a lot); on a hit the rules it counted are counted again.
   */
  memoized(memo: Memo, text: string, compute: (text: string) => string): string {
    if (text.length > MEMO_MAX_CHARS) return compute(text);
    const hit = memo.get(text);
    if (hit !== undefined) {
      for (const rule of hit.rules) this.#hit(rule);
      return hit.out;
    }
    const outer = this.#rules, rules: string[] = [];
    this.#rules = rules;
    let out: string;
    try {
      out = compute(text);
    } finally {
      this.#rules = outer;
    }
    outer?.push(...rules);
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(text, { out, rules });
    return out;
  }

  /** Count one redaction, and note it for the memo entry being computed. */
  #hit(rule: string): void {
    this.#count(rule);
    this.#rules?.push(rule);
  }

  #scan(text: string): string {
    let raw = text, cut = "";
    if (raw.length > this.#max) {
      raw = raw.slice(0, this.#max);
      cut = TRUNCATED;
      this.#hit("truncated");
    }
    const { decoded, map } = this.#decode(raw);
    const spans = this.#spans(decoded);
    if (spans.length === 0) return cut === "" ? text : raw + cut;
    let out = "", at = 0;
    for (const s of spans) {
      const from = map ? map[s.start] : s.start, to = map ? map[s.end] : s.end;
      out += raw.slice(at, from) + this.replace(s.name, decoded.slice(s.start, s.end));
      at = to;
    }
    return out + raw.slice(at) + cut;
  }

  /** The output for one matched value under `rule`'s action. */
  replace(rule: string, value: string): string {
    this.#hit(rule);
    return this.#output(this.#actions.get(rule) ?? "mask", rule, value);
  }

  /** A whole value under `action` (`drop`: null). `label` names the rule in a mask. */
  whole(action: RedactAction, label: string, value: string): string | null {
    this.#hit(label);
    return action === "drop" ? null : this.#output(action, label, value);
  }

  #output(action: RedactAction, rule: string, value: string): string {
    if (action === "drop") return "";
    if (action === "hash" && this.#hasher) return this.#hasher.token(normalize(rule, value));
    return `[REDACTED:${rule}]`;
  }

  #spans(text: string): Span[] {
    const spans: Span[] = [];
    detect(text, this.#detectors, spans);
    for (const p of this.#patterns) {
      for (const [start, end] of p.pattern.matches(text)) {
        if (end > start) spans.push({ start, end, name: p.name });
      }
    }
    return mergeSpans(spans);
  }

  /**
   * Percent-decode for detection. `map[i]` is where decoded unit `i` starts in `raw` (null when
   * nothing was decoded); a run of escapes that is not UTF-8 stays as written.
   */
  #decode(raw: string): { decoded: string; map: Int32Array | null } {
    if (raw.indexOf("%") < 0) return { decoded: raw, map: null };
    let decoded = "";
    const map: number[] = [];
    for (let i = 0; i < raw.length;) {
      ESCAPES.lastIndex = i;
      const run = raw.charCodeAt(i) === 37 ? ESCAPES.exec(raw) : null;
      if (!run) {
        decoded += raw[i];
        map.push(i++);
        continue;
      }
      const text = this.#utf8(run[0]);
      if (text === null) {
        for (let k = 0; k < run[0].length; k++) map.push(i + k);
        decoded += run[0];
      } else {
        let pos = i;
        for (const ch of text) {
          for (let u = 0; u < ch.length; u++) map.push(pos);
          pos += 3 * utf8Length(ch.codePointAt(0)!);
        }
        decoded += text;
      }
      i += run[0].length;
    }
    map.push(raw.length);
    return { decoded, map: Int32Array.from(map) };
  }

  #utf8(escapes: string): string | null {
    try {
      return decodeURIComponent(escapes);
    } catch {
      return null; // not UTF-8 (e.g. a cut multi-byte sequence): scanned as written
    }
  }
}

const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/y;
/** A canonical UUID (request and correlation ids): no built-in detector applies to one. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Texts up to this long are memoised, at most MEMO_LIMIT of them (then the memo restarts). */
const MEMO_MAX_CHARS = 512;
const MEMO_LIMIT = 4096;

function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** The canonical form hashed for a rule, so one value hashes alike however it was written. */
export function normalize(rule: string, value: string): string {
  switch (rule) {
    case "email":
      return value.toLowerCase();
    case "card":
    case "phone":
    case "ssn":
      return value.replace(/[^0-9+]/g, "");
    case "iban":
      return value.replace(/ /g, "").toUpperCase();
    default:
      return value;
  }
}
