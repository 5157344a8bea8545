/**
 * A KDL parser that keeps source positions: KDL v1, plus the v2 keywords `#true #false #null`
 * and raw strings `#"…"#`, plus a non-standard list value `[ v1 v2 … ]` (whitespace, newlines or
 * commas between items) that counts as one argument, as the product page writes `events [ … ]`.
 * Runs at start-up. Never evaluates anything; type annotations `(t)` are kept and not checked.
 * Throws `KdlSyntaxError` (code `config_syntax`) at the first syntax error.
 * @module
 */

import { KdlSyntaxError } from "./errors.ts";
import type { SourcePos } from "./types.ts";

/** A single KDL value. */
export type KdlScalar = string | number | boolean | null;

/** An argument, property value or list item, with where it starts. */
export interface KdlValue {
  /** The value; a `[ … ]` list is an array of items, each with its own position. */
  value: KdlScalar | KdlValue[];
  /** Start of the value (for a property: start of its key). */
  pos: SourcePos;
  /** Type annotation `(t)` as written, if any. */
  tag?: string;
}

/** One node: name, positional arguments, `key=value` properties and a `{ … }` children block. */
export interface KdlNode {
  name: string;
  args: KdlValue[];
  /** Properties by key; a repeated key keeps the last value (KDL rule). */
  props: Record<string, KdlValue>;
  children: KdlNode[];
  pos: SourcePos;
  tag?: string;
}

/** A KDL value as plain data: scalars as they are, lists as arrays. */
export type PlainValue = KdlScalar | PlainValue[];

/** Parse a KDL document. `file` is used in positions and error messages only. */
export function parseKdl(text: string, file: string): KdlNode[] {
  return new Parser(text, file).document();
}

/** A value without positions: lists become arrays. */
export function plainValue(v: KdlValue): PlainValue {
  return Array.isArray(v.value) ? v.value.map(plainValue) : v.value;
}

/** Set an own enumerable property, safe for keys like `__proto__`. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

const NEWLINES = "\n\r\u0085\u000C\u2028\u2029";
const SPACES = "\t \u00A0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" +
  "\u200A\u202F\u205F\u3000\uFEFF";
const NOT_BARE = '\\/(){}<>;[]=,"';
const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  r: "\r",
  s: " ",
};
const NUMBER =
  /^[+-]?(0x[0-9a-fA-F][0-9a-fA-F_]*|0o[0-7][0-7_]*|0b[01][01_]*|[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9][0-9_]*)?)$/;
const RAW_START = /^(r#*|#+)"/;

const isNewline = (c: string) => c !== "" && NEWLINES.includes(c);
const isSpace = (c: string) => c !== "" && SPACES.includes(c);
const isBare = (c: string) => c !== "" && !isNewline(c) && !isSpace(c) && !NOT_BARE.includes(c);

class Parser {
  #s: string;
  #file: string;
  #i = 0;
  #line = 1;
  #col = 1;

  constructor(text: string, file: string) {
    this.#s = text;
    this.#file = file;
  }

  document(): KdlNode[] {
    const nodes = this.#nodes();
    if (this.#ch() === "}") this.#fail("unexpected `}` without a matching `{`");
    return nodes;
  }

  // --- cursor ---

  #ch(offset = 0): string {
    return this.#s[this.#i + offset] ?? "";
  }

  #at(str: string): boolean {
    return this.#s.startsWith(str, this.#i);
  }

  #pos(): SourcePos {
    return { file: this.#file, line: this.#line, col: this.#col };
  }

  /** Consume one character (a CRLF pair or a surrogate pair counts as one) and return it. */
  #step(): string {
    const c = this.#ch();
    let width = 1;
    if (c === "\r" && this.#ch(1) === "\n") width = 2;
    else if (c >= "\uD800" && c <= "\uDBFF" && this.#ch(1) >= "\uDC00") width = 2;
    const taken = this.#s.slice(this.#i, this.#i + width);
    this.#i += width;
    if (isNewline(c)) [this.#line, this.#col] = [this.#line + 1, 1];
    else this.#col++;
    return taken;
  }

  #fail(problem: string, pos: SourcePos = this.#pos()): never {
    throw new KdlSyntaxError(pos, problem);
  }

  #describe(): string {
    const c = this.#ch();
    if (c === "") return "end of file";
    return isNewline(c) ? "a newline" : `\`${c}\``;
  }

  // --- whitespace and comments ---

  /** Skip whitespace, newlines, comments and stray `;` between nodes. */
  #skipLinespace(): void {
    for (;;) {
      const c = this.#ch();
      if (isSpace(c) || isNewline(c) || c === ";") this.#step();
      else if (this.#at("//")) this.#lineComment();
      else if (this.#at("/*")) this.#blockComment();
      else return;
    }
  }

  /** Skip spaces, block comments and `\` line continuations inside a node; true if any. */
  #skipNodeSpace(): boolean {
    const start = this.#i;
    for (;;) {
      const c = this.#ch();
      if (isSpace(c)) this.#step();
      else if (this.#at("/*")) this.#blockComment();
      else if (c === "\\") this.#continuation();
      else return this.#i > start;
    }
  }

  #continuation(): void {
    this.#step();
    while (isSpace(this.#ch())) this.#step();
    if (this.#at("//")) this.#lineComment();
    if (isNewline(this.#ch())) this.#step();
    else if (this.#ch() !== "") {
      this.#fail(`expected a newline after line continuation \`\\\`, found ${this.#describe()}`);
    }
  }

  #lineComment(): void {
    while (this.#ch() !== "" && !isNewline(this.#ch())) this.#step();
  }

  #blockComment(): void {
    const start = this.#pos();
    let depth = 0;
    do {
      if (this.#ch() === "") this.#fail("unterminated block comment `/*`", start);
      if (this.#at("/*") || this.#at("*/")) {
        depth += this.#at("/*") ? 1 : -1;
        this.#step();
      }
      this.#step();
    } while (depth > 0);
  }

  /** Consume a `/-` and the space after it; true if there was one. */
  #slashdash(): boolean {
    if (!this.#at("/-")) return false;
    this.#step();
    this.#step();
    this.#skipNodeSpace();
    return true;
  }

  // --- nodes ---

  /** Nodes up to end of file or a `}` (not consumed). */
  #nodes(): KdlNode[] {
    const out: KdlNode[] = [];
    for (;;) {
      this.#skipLinespace();
      const c = this.#ch();
      if (c === "" || c === "}") return out;
      const dropped = this.#slashdash();
      if (dropped) this.#skipLinespace();
      const node = this.#node();
      if (!dropped) out.push(node);
    }
  }

  #node(): KdlNode {
    const pos = this.#pos();
    const tag = this.#tag();
    const name = this.#identifier("a node name");
    const node: KdlNode = { name, args: [], props: {}, children: [], pos };
    if (tag !== undefined) node.tag = tag;
    let hasBlock = false;
    for (;;) {
      const spaced = this.#skipNodeSpace();
      if (this.#atNodeEnd()) return node;
      const entryPos = this.#pos();
      const dropped = this.#slashdash();
      if (dropped && this.#atNodeEnd()) this.#fail("`/-` must be followed by a value or block");
      if (this.#ch() === "{") {
        if (hasBlock && !dropped) this.#fail("a node has at most one children block", entryPos);
        const children = this.#block();
        if (!dropped) [node.children, hasBlock] = [children, true];
        continue;
      }
      if (hasBlock) this.#fail("arguments and properties must come before the children block");
      if (!spaced && !dropped) this.#fail(`expected a space before ${this.#describe()}`);
      this.#entry(node, dropped, entryPos);
    }
  }

  /** At a node terminator: consumes `;` and a newline, leaves `//`, `}` and end of file. */
  #atNodeEnd(): boolean {
    const c = this.#ch();
    if (c === ";" || isNewline(c)) {
      this.#step();
      return true;
    }
    return c === "" || c === "}" || this.#at("//");
  }

  #block(): KdlNode[] {
    const open = this.#pos();
    this.#step();
    const children = this.#nodes();
    if (this.#ch() !== "}") this.#fail("unterminated children block, expected `}`", open);
    this.#step();
    return children;
  }

  /** One argument or property, added to `node` unless `dropped`. */
  #entry(node: KdlNode, dropped: boolean, pos: SourcePos): void {
    const c = this.#ch();
    let key: string | undefined;
    if (c === '"' || RAW_START.test(this.#s.slice(this.#i, this.#i + 64))) {
      const str = this.#string();
      if (this.#ch() !== "=") {
        if (!dropped) node.args.push({ value: str, pos });
        return;
      }
      key = str;
    } else if (isBare(c) && !this.#bareIsValue()) {
      key = this.#identifier("a property name");
      if (this.#ch() !== "=") this.#bareWord(key, pos);
    }
    if (key === undefined) {
      const start = this.#i;
      const value = this.#value();
      if (this.#ch() === "=") {
        const raw = this.#s.slice(start, this.#i);
        this.#fail(`\`${raw}\` cannot be a property name; quote it: "${raw}"=…`, pos);
      }
      if (!dropped) node.args.push(value);
      return;
    }
    this.#step();
    const value = this.#value();
    if (!dropped) setOwn(node.props, key, { ...value, pos });
  }

  /** Whether the bare token ahead is a number or keyword rather than an identifier. */
  #bareIsValue(): boolean {
    const c = this.#ch();
    if (/[0-9#]/.test(c) || (/[+-]/.test(c) && /[0-9]/.test(this.#ch(1)))) return true;
    let end = this.#i;
    while (end - this.#i < 6 && isBare(this.#s[end] ?? "")) end++;
    return /^(true|false|null)$/.test(this.#s.slice(this.#i, end)) && !isBare(this.#s[end] ?? "");
  }

  #identifier(what: string): string {
    if (this.#ch() === '"' || RAW_START.test(this.#s.slice(this.#i, this.#i + 64))) {
      return this.#string();
    }
    const pos = this.#pos();
    if (!isBare(this.#ch())) this.#fail(`expected ${what}, found ${this.#describe()}`);
    const word = this.#bare();
    if (/^#?(true|false|null)$/.test(word)) {
      this.#fail(`\`${word}\` is a keyword; quote it to use it as a name: "${word}"`, pos);
    }
    if (/^([+-]?[0-9]|#)/.test(word)) this.#fail(`expected ${what}, found \`${word}\``, pos);
    return word;
  }

  #bare(): string {
    const start = this.#i;
    while (isBare(this.#ch())) this.#step();
    return this.#s.slice(start, this.#i);
  }

  #bareWord(word: string, pos: SourcePos): never {
    this.#fail(`bare word \`${word}\` is not a value; quote it: "${word}"`, pos);
  }

  /** `(tag)` before a node or value, if present. */
  #tag(): string | undefined {
    if (this.#ch() !== "(") return undefined;
    const open = this.#pos();
    this.#step();
    const tag = this.#identifier("a type name");
    if (this.#ch() !== ")") this.#fail("unterminated type annotation, expected `)`", open);
    this.#step();
    this.#skipNodeSpace();
    return tag;
  }

  // --- values ---

  #value(): KdlValue {
    const pos = this.#pos();
    const tag = this.#tag();
    const out: KdlValue = { value: this.#bareValue(pos), pos };
    if (tag !== undefined) out.tag = tag;
    return out;
  }

  #bareValue(pos: SourcePos): KdlScalar | KdlValue[] {
    const c = this.#ch();
    if (c === "[") return this.#list();
    if (c === '"' || RAW_START.test(this.#s.slice(this.#i, this.#i + 64))) return this.#string();
    if (!isBare(c)) this.#fail(`expected a value, found ${this.#describe()}`);
    const word = this.#bare();
    if (word === "true" || word === "#true") return true;
    if (word === "false" || word === "#false") return false;
    if (word === "null" || word === "#null") return null;
    if (word.startsWith("#")) this.#fail(`unknown keyword \`${word}\``, pos);
    if (/^[+-]?[0-9]/.test(word)) return this.#number(word, pos);
    this.#bareWord(word, pos);
  }

  #number(word: string, pos: SourcePos): number {
    if (!NUMBER.test(word)) this.#fail(`invalid number \`${word}\``, pos);
    const clean = word.replaceAll("_", "");
    const sign = clean.startsWith("-") ? -1 : 1;
    const body = clean.replace(/^[+-]/, "");
    const radix = { "0x": 16, "0o": 8, "0b": 2 }[body.slice(0, 2)];
    return radix ? sign * parseInt(body.slice(2), radix) : sign * Number(body);
  }

  /** `[ v1 v2 … ]`: items separated by whitespace, newlines, comments or commas. */
  #list(): KdlValue[] {
    const open = this.#pos();
    this.#step();
    const items: KdlValue[] = [];
    for (;;) {
      this.#skipListSpace();
      if (this.#ch() === "") this.#fail("unterminated list, expected `]`", open);
      if (this.#ch() === "]") {
        this.#step();
        return items;
      }
      const dropped = this.#slashdash();
      if (isBare(this.#ch()) && !this.#bareIsValue() && this.#line > open.line) {
        const pos = this.#pos();
        const word = this.#bare();
        const problem = `bare word \`${word}\` is not a value; quote it, or close the list ` +
          `opened at ${open.line}:${open.col} with \`]\``;
        this.#fail(problem, pos);
      }
      const item = this.#value();
      if (!dropped) items.push(item);
      const c = this.#ch();
      const separated = c === "" || c === "," || c === "]" || c === "/" || isSpace(c) ||
        isNewline(c);
      if (!separated) this.#fail(`expected \`,\` or \`]\` in list, found ${this.#describe()}`);
    }
  }

  /** Skip whitespace, newlines, comments and commas between list items. */
  #skipListSpace(): void {
    for (;;) {
      const c = this.#ch();
      if (isSpace(c) || isNewline(c) || c === ",") this.#step();
      else if (this.#at("//")) this.#lineComment();
      else if (this.#at("/*")) this.#blockComment();
      else return;
    }
  }

  #string(): string {
    return this.#ch() === '"' ? this.#quoted() : this.#raw();
  }

  #quoted(): string {
    const open = this.#pos();
    this.#step();
    let out = "";
    for (;;) {
      const c = this.#ch();
      if (c === "") this.#fail("unterminated string", open);
      if (c === '"') {
        this.#step();
        return out;
      }
      out += c === "\\" ? this.#escape() : this.#step();
    }
  }

  #escape(): string {
    const pos = this.#pos();
    this.#step();
    const c = this.#ch();
    if (c !== "" && c in ESCAPES) {
      this.#step();
      return ESCAPES[c];
    }
    if (isSpace(c) || isNewline(c)) {
      while (isSpace(this.#ch()) || isNewline(this.#ch())) this.#step();
      return "";
    }
    const m = /^u\{([0-9a-fA-F]{1,6})\}/.exec(this.#s.slice(this.#i, this.#i + 10));
    const code = m ? parseInt(m[1], 16) : -1;
    if (!m || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      this.#fail(`invalid escape \`\\${m ? m[0] : c}\` in string`, pos);
    }
    for (let k = 0; k < m[0].length; k++) this.#step();
    return String.fromCodePoint(code);
  }

  /** `r"…"`, `r#"…"#` (v1) or `#"…"#` (v2): no escapes. */
  #raw(): string {
    const open = this.#pos();
    const prefix = RAW_START.exec(this.#s.slice(this.#i, this.#i + 64))?.[1] ?? "";
    const hashes = prefix.replace("r", "");
    const prefixLength = prefix.length + 1;
    for (let k = 0; k < prefixLength; k++) this.#step();
    const end = this.#s.indexOf('"' + hashes, this.#i);
    if (end < 0) this.#fail("unterminated raw string", open);
    const out = this.#s.slice(this.#i, end);
    while (this.#i < end) this.#step();
    for (let k = 0; k <= hashes.length; k++) this.#step();
    return out;
  }
}

/** Properties (as one-argument nodes) and children of `node`, in file order. */
export function entriesOf(node: KdlNode): KdlNode[] {
  const props = Object.entries(node.props).map(([name, value]): KdlNode => ({
    name,
    args: [value],
    props: {},
    children: [],
    pos: value.pos,
  }));
  const all = [...props, ...node.children];
  return all.sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
}
