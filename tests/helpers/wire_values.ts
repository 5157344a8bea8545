/**
 * Strict readers for what the agent writes, keeping what serde would see and JavaScript hides:
 * duplicate map keys, integer vs float, `bin` vs `str`, lone surrogates, trailing bytes.
 * `parseStrictJson` follows serde_json; `readMsgpack` follows rmp. Test-only helper.
 * @module
 */

/** A decoded value with its wire type. Maps keep every entry, in order, duplicates included. */
export type Node =
  | { t: "nil" }
  | { t: "bool"; v: boolean }
  | { t: "int"; v: number }
  | { t: "float"; v: number }
  | { t: "str"; v: string }
  | { t: "bin"; v: Uint8Array }
  | { t: "arr"; v: Node[] }
  | { t: "map"; v: [Node, Node][] }
  | { t: "ext" };

/** Not something serde would parse at all. */
export class WireSyntaxError extends Error {
  override name = "WireSyntaxError";
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** serde_json `from_slice`: UTF-8, no BOM, trailing whitespace only. */
export function parseStrictJson(bytes: Uint8Array): Node {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new WireSyntaxError("JSON is not valid UTF-8");
  }
  const p = new JsonParser(text);
  const node = p.value();
  p.ws();
  if (!p.done()) throw new WireSyntaxError(`trailing characters at ${p.at}`);
  return node;
}

class JsonParser {
  at = 0;
  constructor(readonly s: string) {}

  done(): boolean {
    return this.at >= this.s.length;
  }

  ws(): void {
    while (!this.done() && " \t\n\r".includes(this.s[this.at])) this.at++;
  }

  fail(what: string): never {
    throw new WireSyntaxError(`${what} at ${this.at}`);
  }

  value(): Node {
    this.ws();
    const c = this.s[this.at];
    if (c === "{") return this.container("}", true);
    if (c === "[") return this.container("]", false);
    if (c === '"') return { t: "str", v: this.string() };
    for (
      const [word, node] of [["true", { t: "bool", v: true }], ["false", { t: "bool", v: false }], [
        "null",
        { t: "nil" },
      ]] as const
    ) {
      if (this.s.startsWith(word, this.at)) {
        this.at += word.length;
        return node;
      }
    }
    return this.number();
  }

  container(close: string, isMap: boolean): Node {
    this.at++;
    const items: Node[] = [];
    const entries: [Node, Node][] = [];
    this.ws();
    if (this.s[this.at] === close) {
      this.at++;
      return isMap ? { t: "map", v: entries } : { t: "arr", v: items };
    }
    for (;;) {
      if (isMap) {
        this.ws();
        if (this.s[this.at] !== '"') this.fail("expected key");
        const key: Node = { t: "str", v: this.string() };
        this.ws();
        if (this.s[this.at++] !== ":") this.fail("expected ':'");
        entries.push([key, this.value()]);
      } else items.push(this.value());
      this.ws();
      const c = this.s[this.at++];
      if (c === close) return isMap ? { t: "map", v: entries } : { t: "arr", v: items };
      if (c !== ",") this.fail(`expected ',' or '${close}'`);
    }
  }

  string(): string {
    this.at++;
    let out = "";
    for (;;) {
      if (this.done()) this.fail("EOF in string");
      const c = this.s[this.at++];
      if (c === '"') return out;
      if (c.charCodeAt(0) < 0x20) this.fail("control character in string");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = this.s[this.at++];
      const simple: Record<string, string> = {
        '"': '"',
        "\\": "\\",
        "/": "/",
        b: "\b",
        f: "\f",
        n: "\n",
        r: "\r",
        t: "\t",
      };
      if (e in simple) out += simple[e];
      else if (e === "u") out += this.unicodeEscape();
      else this.fail("bad escape");
    }
  }

  hex4(): number {
    const h = this.s.slice(this.at, this.at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail("bad hex escape");
    this.at += 4;
    return parseInt(h, 16);
  }

  unicodeEscape(): string {
    const hi = this.hex4();
    if (hi >= 0xdc00 && hi <= 0xdfff) this.fail("lone trailing surrogate");
    if (hi < 0xd800 || hi > 0xdbff) return String.fromCharCode(hi);
    if (!this.s.startsWith("\\u", this.at)) this.fail("unexpected end of hex escape");
    this.at += 2;
    const lo = this.hex4();
    if (lo < 0xdc00 || lo > 0xdfff) this.fail("lone leading surrogate");
    return String.fromCharCode(hi, lo);
  }

  number(): Node {
    const re = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    re.lastIndex = this.at;
    const m = re.exec(this.s);
    if (!m) this.fail("expected value");
    this.at += m[0].length;
    const isFloat = m[2] !== undefined || m[3] !== undefined;
    return { t: isFloat ? "float" : "int", v: Number(m[0]) };
  }
}

/** One MessagePack value starting at `at`; `end` is where it stops (trailing bytes allowed). */
export function readMsgpack(buf: Uint8Array, at = 0): { node: Node; end: number } {
  const r = new MsgpackReader(buf, at);
  const node = r.value();
  return { node, end: r.at };
}

class MsgpackReader {
  readonly #dv: DataView;
  constructor(readonly buf: Uint8Array, public at: number) {
    this.#dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  #need(n: number): number {
    if (this.at + n > this.buf.length) throw new WireSyntaxError("unexpected end of MessagePack");
    const start = this.at;
    this.at += n;
    return start;
  }

  #uint(size: 1 | 2 | 4 | 8): number {
    const p = this.#need(size);
    if (size === 1) return this.#dv.getUint8(p);
    if (size === 2) return this.#dv.getUint16(p);
    if (size === 4) return this.#dv.getUint32(p);
    return Number(this.#dv.getBigUint64(p));
  }

  #int(size: 1 | 2 | 4 | 8): number {
    const p = this.#need(size);
    if (size === 1) return this.#dv.getInt8(p);
    if (size === 2) return this.#dv.getInt16(p);
    if (size === 4) return this.#dv.getInt32(p);
    return Number(this.#dv.getBigInt64(p));
  }

  #bytes(n: number): Uint8Array {
    const p = this.#need(n);
    return this.buf.slice(p, p + n);
  }

  #str(n: number): Node {
    try {
      return { t: "str", v: utf8.decode(this.#bytes(n)) };
    } catch {
      throw new WireSyntaxError("string is not valid UTF-8");
    }
  }

  #arr(n: number): Node {
    const v: Node[] = [];
    for (let i = 0; i < n; i++) v.push(this.value());
    return { t: "arr", v };
  }

  #map(n: number): Node {
    const v: [Node, Node][] = [];
    for (let i = 0; i < n; i++) v.push([this.value(), this.value()]);
    return { t: "map", v };
  }

  value(): Node {
    const b = this.#uint(1);
    if (b <= 0x7f) return { t: "int", v: b };
    if (b >= 0xe0) return { t: "int", v: b - 0x100 };
    if ((b & 0xf0) === 0x80) return this.#map(b & 0x0f);
    if ((b & 0xf0) === 0x90) return this.#arr(b & 0x0f);
    if ((b & 0xe0) === 0xa0) return this.#str(b & 0x1f);
    const sizes = {
      0xcc: 1,
      0xcd: 2,
      0xce: 4,
      0xcf: 8,
      0xd0: 1,
      0xd1: 2,
      0xd2: 4,
      0xd3: 8,
    } as const;
    if (b >= 0xcc && b <= 0xcf) return { t: "int", v: this.#uint(sizes[b as 0xcc]) };
    if (b >= 0xd0 && b <= 0xd3) return { t: "int", v: this.#int(sizes[b as 0xd0]) };
    switch (b) {
      case 0xc0:
        return { t: "nil" };
      case 0xc2:
      case 0xc3:
        return { t: "bool", v: b === 0xc3 };
      case 0xc4:
      case 0xc5:
      case 0xc6:
        return { t: "bin", v: this.#bytes(this.#uint(([1, 2, 4] as const)[b - 0xc4])) };
      case 0xca:
        return { t: "float", v: this.#dv.getFloat32(this.#need(4)) };
      case 0xcb:
        return { t: "float", v: this.#dv.getFloat64(this.#need(8)) };
      case 0xd9:
      case 0xda:
      case 0xdb:
        return this.#str(this.#uint(([1, 2, 4] as const)[b - 0xd9]));
      case 0xdc:
      case 0xdd:
        return this.#arr(this.#uint(b === 0xdc ? 2 : 4));
      case 0xde:
      case 0xdf:
        return this.#map(this.#uint(b === 0xde ? 2 : 4));
    }
    const ext: Record<number, number> = { 0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17 };
    if (b in ext) this.#need(ext[b]);
    else if (b >= 0xc7 && b <= 0xc9) this.#need(this.#uint(([1, 2, 4] as const)[b - 0xc7]) + 1);
    else throw new WireSyntaxError(`reserved MessagePack marker 0x${b.toString(16)}`);
    return { t: "ext" };
  }
}
