import assert from "node:assert/strict";
import { KeySet, scanJsonObject } from "../../src/protocol/json_scan.ts";
import { rng } from "../helpers/rng.ts";

const enc = new TextEncoder();
const dec = new TextDecoder(); // lenient, like a worker that replaces bad UTF-8
const CID = new KeySet(["correlation_id"]);

/** Scan `text` whole; returns the found keys' raw values as text, or null when rejected. */
function scan(text: string, keys = CID): Map<string, string> | null {
  return scanBytes(enc.encode(text), keys);
}

function scanBytes(
  b: Uint8Array,
  keys = CID,
  start = 0,
  end = b.length,
): Map<string, string> | null {
  const r = scanJsonObject(b, start, end, keys);
  if (r === null) return null;
  const out = new Map<string, string>();
  for (const [k, v] of r) out.set(k, dec.decode(b.subarray(v.start, v.end)));
  return out;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The top-level string value JSON.parse sees, or undefined. */
function parsedCid(text: string): string | undefined {
  const v = JSON.parse(text);
  return typeof v?.correlation_id === "string" ? v.correlation_id : undefined;
}

/** A raw (escaped) value as JSON.parse would decode it. */
function unescape(raw: string): string {
  return JSON.parse(`"${raw}"`);
}

// ---------------------------------------------------------------------------------------------
// Hand-picked valid and invalid documents

const VALID = [
  `{}`,
  ` \t\r\n{ } \t\r\n`,
  `{"correlation_id":"c-1"}`,
  `{"correlation_id":""}`,
  `{ "correlation_id" : "c-1" , "a" : 1 }`,
  `{"a":{"correlation_id":"inner"},"correlation_id":"outer"}`,
  `{"a":[{"correlation_id":"inner"}],"correlation_id":"outer"}`,
  `{"a":[[[{"correlation_id":"deep"}]]]}`,
  `{"note":"\\"correlation_id\\":\\"x\\"","correlation_id":"real"}`,
  `{"x\\"correlation_id":"no"}`,
  `{"correlation_id":"a\\"b\\\\c\\u00e9\\/\\b\\f\\n\\r\\t"}`,
  `{"correlation_id":"\\u00E9\\uD83D\\uDE00"}`,
  `{"correlation_id":"é日本😀"}`,
  `{"correlation_id":"\\\\"}`,
  `{"correlation_id":"\\\\\\""}`,
  `{"a":-0,"b":0,"c":1e5,"d":1E+5,"e":1e-5,"f":-0.0e-0,"g":0.5,"h":123456789012345678901234567890}`,
  `{"a":[],"b":{},"c":[{}],"d":[[]],"e":[null,true,false,"s",1.5]}`,
  `{"correlation_id":5}`,
  `{"correlation_id":null}`,
  `{"correlation_id":{"correlation_id":"inner"}}`,
  `{"correlation_id":["x"]}`,
  `{"metadata":{"correlation_id":"m"},"method":"GET"}`,
  `{"":""}`,
  `{"a":"}"}`,
  `{"a":"{"}`,
  `{"a":"]"}`,
  `{"a":"\\u0000"}`,
];

const INVALID = [
  ``,
  ` `,
  `{`,
  `}`,
  `{"a":01}`,
  `{"a":-01}`,
  `{"a":00}`,
  `{"a":1,}`,
  `{,}`,
  `{"a":1} x`,
  `{"a":1}}`,
  `{"a":1}{}`,
  `{"a"1}`,
  `{"a":}`,
  `{"a"}`,
  `{a:1}`,
  `{'a':1}`,
  `{"a":'b'}`,
  `{"a":[1,]}`,
  `{"a":[,1]}`,
  `{"a":[1 2]}`,
  `{"a":1 "b":2}`,
  `{"a":-}`,
  `{"a":--1}`,
  `{"a":1.}`,
  `{"a":.5}`,
  `{"a":1.e5}`,
  `{"a":1e}`,
  `{"a":1e+}`,
  `{"a":1e-}`,
  `{"a":+1}`,
  `{"a":1ee5}`,
  `{"a":0x10}`,
  `{"a":NaN}`,
  `{"a":Infinity}`,
  `{"a":-Infinity}`,
  `{"a":tru}`,
  `{"a":truee}`,
  `{"a":nul}`,
  `{"a":nulll}`,
  `{"a":False}`,
  `{"a":"\\x"}`,
  `{"a":"\\u12"}`,
  `{"a":"\\u12g4"}`,
  `{"a":"\\U0041"}`,
  `{"a":"\\'"}`,
  `{"a":"unterminated}`,
  `{"a":"x\\"}`,
  `{"a":"b"]`,
  `{"a":["b"}`,
  `{"a":{"b"}}`,
  `{"a":{"b":1}`,
  `{"a":true false}`,
  `\uFEFF{}`,
  `{}\u00a0`,
  `{"a":1}\u2028`,
  `{"a":1}\0`,
  `[]`,
  `[{"correlation_id":"x"}]`,
  `"x"`,
  `1`,
  `null`,
];

Deno.test("scanJsonObject() accepts every hand-picked valid object", () => {
  for (const text of VALID) {
    assert.ok(parses(text), `fixture must be valid: ${text}`);
    assert.notEqual(scan(text), null, `rejected valid ${text}`);
  }
});

Deno.test("scanJsonObject() rejects every hand-picked invalid document", () => {
  for (const text of INVALID) {
    const top = parses(text) ? JSON.parse(text) : undefined;
    const isObject = top !== null && typeof top === "object" && !Array.isArray(top);
    assert.ok(!isObject, `fixture must not be a valid object: ${text}`);
    assert.equal(scan(text), null, `accepted invalid ${JSON.stringify(text)}`);
  }
});

Deno.test("scanJsonObject() finds the same top-level correlation_id as JSON.parse", () => {
  for (const text of VALID) {
    const raw = scan(text)?.get("correlation_id");
    const want = parsedCid(text);
    assert.equal(raw === undefined ? undefined : unescape(raw), want, text);
  }
});

Deno.test("scanJsonObject() ignores a nested correlation_id that comes first", () => {
  assert.equal(
    scan(`{"metadata":{"correlation_id":"inner"},"correlation_id":"outer"}`)?.get(
      "correlation_id",
    ),
    "outer",
  );
  assert.equal(scan(`{"metadata":{"correlation_id":"inner"}}`)?.has("correlation_id"), false);
});

Deno.test("scanJsonObject() is not fooled by the key text inside a string", () => {
  const t = `{"a":"{\\"correlation_id\\":\\"x\\"}","correlation_id":"real"}`;
  assert.equal(scan(t)?.get("correlation_id"), "real");
  const only = `{"a":"\\"correlation_id\\":\\"x\\""}`;
  assert.equal(scan(only)?.has("correlation_id"), false);
});

Deno.test("scanJsonObject() returns escaped values raw", () => {
  const t = `{"correlation_id":"a\\"b\\\\c\\u00e9\\/"}`;
  const raw = scan(t)?.get("correlation_id");
  assert.equal(raw, `a\\"b\\\\c\\u00e9\\/`);
  assert.equal(unescape(raw!), `a"b\\cé/`);
});

Deno.test("scanJsonObject() skips a non-string top-level correlation_id", () => {
  for (const v of ["5", "null", "true", "{}", `["x"]`, `{"correlation_id":"in"}`]) {
    const r = scan(`{"correlation_id":${v},"b":"x"}`);
    assert.notEqual(r, null, v);
    assert.equal(r!.has("correlation_id"), false, v);
  }
});

Deno.test("scanJsonObject() agrees with JSON.parse on a duplicate top-level key", () => {
  // JSON.parse (and the worker's decode) keep the last value; the ack must echo the same id the
  // record is joined under.
  const t = `{"correlation_id":"first","status":200,"correlation_id":"second"}`;
  assert.equal(scan(t)?.get("correlation_id"), parsedCid(t));
});

Deno.test("scanJsonObject() finds a key written with escapes, as JSON.parse does", () => {
  const t = `{"correlation\\u005fid":"c-7"}`;
  assert.equal(parsedCid(t), "c-7");
  const raw = scan(t)?.get("correlation_id");
  assert.equal(raw, "c-7");
});

Deno.test("scanJsonObject() collects several wanted keys at depth 1 only", () => {
  const keys = new KeySet(["version", "event_type", "correlation_id"]);
  const t = `{"version":1,"event_type":"request_headers","payload":{"event_type":"x",` +
    `"correlation_id":"nested"}}`;
  const r = scan(t, keys);
  assert.deepEqual([...r!.entries()], [["event_type", "request_headers"]]);
});

Deno.test("scanJsonObject() honours start and end inside a larger buffer", () => {
  const doc = `{"correlation_id":"c-2","status":200}`;
  const b = enc.encode(`\x12${doc}GARBAGE`);
  const r = scanJsonObject(b, 1, 1 + doc.length, CID);
  assert.notEqual(r, null);
  const v = r!.get("correlation_id")!;
  assert.equal(dec.decode(b.subarray(v.start, v.end)), "c-2");
  assert.equal(scanJsonObject(b, 1, b.length, CID), null);
});

Deno.test("scanJsonObject() never accepts a truncated document (every byte, both ways)", () => {
  const docs = [
    ...VALID.map((t) => t.trim()),
    `{"correlation_id":"c-2","headers":{"content-type":["application/json"]},"status":200}`,
    `{"a":-12.5e+7,"b":[true,false,null,{"c":"\\u00e9\\n"}],"correlation_id":"x\\\\"}`,
  ];
  for (const text of docs) {
    const b = enc.encode(text);
    for (let k = 0; k < b.length; k++) {
      // The same bytes in a buffer that still holds the rest: the scanner must respect `end`.
      assert.equal(scanJsonObject(b, 0, k, CID), null, `prefix ${k} of ${text} (end)`);
      assert.equal(scanJsonObject(b.slice(0, k), 0, k, CID), null, `prefix ${k} of ${text}`);
    }
  }
});

Deno.test("scanJsonObject() accepts nesting to depth 256 and rejects 257", () => {
  const nest = (depth: number, open: string, close: string) =>
    `{"a":${open.repeat(depth - 1)}${close.repeat(depth - 1)}}`;
  const objects = (d: number) => `${`{"a":`.repeat(d - 1)}{}${"}".repeat(d - 1)}`;
  assert.notEqual(scan(objects(256)), null);
  assert.equal(scan(objects(257)), null);
  assert.notEqual(scan(nest(256, "[", "]")), null);
  assert.equal(scan(nest(257, "[", "]")), null);
});

Deno.test("scanJsonObject() rejects very deep nesting without throwing", () => {
  const deep = `{"a":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
  assert.equal(scan(deep), null);
  const open = `{"a":${`{"b":`.repeat(100_000)}`;
  assert.equal(scan(open), null);
});

// ---------------------------------------------------------------------------------------------
// Work bound: the ack path must not be quadratic in the frame size

/** Counts the bytes `indexOf` walks over, so that work is measured without a clock. */
class CountingBytes extends Uint8Array {
  walked = 0;
  override indexOf(value: number, from = 0): number {
    const at = super.indexOf(value, from);
    this.walked += (at < 0 ? this.length : at + 1) - from;
    return at;
  }
}

function walkedFor(text: string): { walked: number; size: number; ok: boolean } {
  const b = new CountingBytes(enc.encode(text));
  const ok = scanJsonObject(b, 0, b.length, CID) !== null;
  return { walked: b.walked, size: b.length, ok };
}

Deno.test("scanJsonObject() walks each byte a bounded number of times for many strings", () => {
  // A response_headers event with many headers: ~4000 short strings, no backslash anywhere.
  const headers: Record<string, string[]> = {};
  for (let i = 0; i < 2000; i++) headers[`x-h${i}`] = ["v"];
  const t = JSON.stringify({ correlation_id: "c", headers, status: 200 });
  const { walked, size, ok } = walkedFor(t);
  assert.ok(ok);
  assert.ok(walked <= 8 * size, `indexOf walked ${walked} bytes for a ${size}-byte frame`);
});

Deno.test("scanJsonObject() walks each byte a bounded number of times for many escapes", () => {
  const t = JSON.stringify({ correlation_id: "c", content: "\\".repeat(20_000) });
  const { walked, size, ok } = walkedFor(t);
  assert.ok(ok);
  assert.ok(walked <= 8 * size, `indexOf walked ${walked} bytes for a ${size}-byte frame`);
});

// ---------------------------------------------------------------------------------------------
// Property tests: generated documents and mutations, judged by JSON.parse

class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number {
    return Math.floor(this.r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  ws(): string {
    if (this.r() < 0.8) return "";
    return Array.from({ length: 1 + this.int(3) }, () => this.pick([" ", "\t", "\n", "\r"])).join(
      "",
    );
  }
  number(): string {
    const forms = [
      () => "0",
      () => "-0",
      () => String(this.int(1000)),
      () => String(-this.int(1e9)),
      () => `${this.int(100)}.${this.int(1000)}`,
      () => `-0.${this.int(100)}e-${this.int(20)}`,
      () => `1e5`,
      () => `1E+${this.int(300)}`,
      () => `${1 + this.int(9)}e-${this.int(9)}`,
      () => "123456789012345678901234567890",
      () => String(this.r() * 1e6),
    ];
    return this.pick(forms)();
  }
  rawString(): string {
    const alphabet = [
      "a",
      "b",
      "Z",
      "0",
      " ",
      '"',
      "\\",
      "/",
      "\n",
      "\t",
      "\u0001",
      "\u001f",
      "é",
      "日",
      "😀",
      "\u2028",
      "{",
      "}",
      "[",
      "]",
      ":",
      ",",
    ];
    return Array.from({ length: this.int(8) }, () => this.pick(alphabet)).join("");
  }
  /** JSON text of `s`, with a random mix of escape styles. */
  quote(s: string, plainOnly = false): string {
    let out = '"';
    for (const ch of s) {
      const c = ch.codePointAt(0)!;
      if (ch === '"') out += '\\"';
      else if (ch === "\\") out += "\\\\";
      else if (c < 0x20) {
        const short: Record<number, string> = { 8: "b", 9: "t", 10: "n", 12: "f", 13: "r" };
        out += short[c] && this.r() < 0.5 ? `\\${short[c]}` : `\\u${hex4(c, this.r() < 0.5)}`;
      } else if (plainOnly) out += ch;
      else if (ch === "/" && this.r() < 0.5) out += "\\/";
      else if (this.r() < 0.15) {
        for (let k = 0; k < ch.length; k++) out += `\\u${hex4(ch.charCodeAt(k), this.r() < 0.5)}`;
      } else out += ch;
    }
    return out + '"';
  }
  value(depth: number): string {
    const kinds = depth > 5 ? 5 : 7;
    switch (this.int(kinds)) {
      case 0:
        return "null";
      case 1:
        return this.pick(["true", "false"]);
      case 2:
      case 3:
        return this.number();
      case 4:
        return this.quote(this.rawString());
      case 5: {
        const n = this.int(4);
        const items = Array.from(
          { length: n },
          () => this.ws() + this.value(depth + 1) + this.ws(),
        );
        return n ? `[${items.join(",")}]` : `[${this.ws()}]`;
      }
      default:
        return this.object(depth + 1, false);
    }
  }
  object(depth: number, top: boolean): string {
    const keys = new Set<string>();
    const members: string[] = [];
    const n = this.int(5);
    const cidAt = top && this.r() < 0.85 ? this.int(n + 1) : -1;
    for (let i = 0; i <= n; i++) {
      if (i === cidAt) {
        const v = this.r() < 0.85 ? this.quote(this.rawString()) : this.value(depth);
        members.push(`${this.ws()}"correlation_id"${this.ws()}:${this.ws()}${v}${this.ws()}`);
        keys.add("correlation_id");
        continue;
      }
      if (i === n) break;
      const k = this.r() < 0.15 ? "correlation_id" : this.rawString();
      if (keys.has(k) || (top && k === "correlation_id")) continue;
      keys.add(k);
      members.push(
        `${this.ws()}${this.quote(k, k === "correlation_id")}${this.ws()}:${this.ws()}${
          this.value(depth)
        }${this.ws()}`,
      );
    }
    return members.length ? `{${members.join(",")}}` : `{${this.ws()}}`;
  }
}

function hex4(c: number, upper: boolean): string {
  const h = c.toString(16).padStart(4, "0");
  return upper ? h.toUpperCase() : h;
}

/** The documented exception: a raw control character inside a string. */
function onlyControlCharsDiffer(text: string): boolean {
  // deno-lint-ignore no-control-regex
  if (!/[\u0000-\u001f]/.test(text)) return false;
  // deno-lint-ignore no-control-regex
  return parses(text.replace(/[\u0000-\u001f]/g, " "));
}

Deno.test("scanJsonObject() accepts generated documents and finds the top-level id", () => {
  const g = new Gen(rng(20260301));
  for (let i = 0; i < 3000; i++) {
    const text = g.ws() + g.object(1, true) + g.ws();
    assert.ok(parses(text), `generator produced invalid JSON: ${text}`);
    const r = scan(text);
    assert.notEqual(r, null, `rejected valid ${JSON.stringify(text)}`);
    const raw = r!.get("correlation_id");
    assert.equal(raw === undefined ? undefined : unescape(raw), parsedCid(text), text);
  }
});

Deno.test("scanJsonObject() rejects whatever JSON.parse rejects after random mutations", () => {
  const g = new Gen(rng(7));
  const bytes = [
    ...`{}[]:,"\\/ 0123456789-+.eEtrufalsn\t\r\nabcxyz`,
  ].map((c) => c.charCodeAt(0)).concat([0x00, 0x01, 0x1f, 0x7f, 0x80, 0xc3, 0xe2, 0xff]);
  const wronglyAccepted: string[] = [];
  const wronglyRejected: string[] = [];
  let checked = 0, invalid = 0;
  for (let i = 0; i < 1500; i++) {
    const b = enc.encode(g.object(1, true));
    for (let m = 0; m < 12; m++) {
      const x = mutate(b, g, bytes);
      const text = dec.decode(x);
      const ok = parses(text);
      const accepted = scanBytes(x) !== null;
      checked++;
      if (!ok) invalid++;
      if (!ok && accepted && !onlyControlCharsDiffer(text)) wronglyAccepted.push(text);
      if (ok && !accepted) {
        const v = JSON.parse(text);
        const isObject = v !== null && typeof v === "object" && !Array.isArray(v);
        if (isObject) wronglyRejected.push(text);
      }
    }
  }
  assert.ok(checked > 10_000);
  assert.ok(invalid > checked / 3 && invalid < checked, `${invalid} of ${checked} invalid`);
  assert.deepEqual(wronglyAccepted.slice(0, 10), [], `${wronglyAccepted.length} accepted`);
  assert.deepEqual(wronglyRejected.slice(0, 10), [], `${wronglyRejected.length} rejected`);
});

function mutate(b: Uint8Array, g: Gen, alphabet: number[]): Uint8Array {
  const at = g.int(b.length + 1);
  switch (g.int(5)) {
    case 0: { // flip one byte
      const x = b.slice();
      if (x.length) x[Math.min(at, x.length - 1)] = g.pick(alphabet);
      return x;
    }
    case 1: { // delete one byte
      const x = new Uint8Array(Math.max(0, b.length - 1));
      x.set(b.subarray(0, Math.min(at, x.length)));
      x.set(b.subarray(Math.min(at, x.length) + 1), Math.min(at, x.length));
      return x;
    }
    case 2: { // insert one byte
      const x = new Uint8Array(b.length + 1);
      x.set(b.subarray(0, at));
      x[at] = g.pick(alphabet);
      x.set(b.subarray(at), at + 1);
      return x;
    }
    case 3: // truncate
      return b.slice(0, Math.min(at, Math.max(0, b.length - 1)));
    default: { // flip a random bit
      const x = b.slice();
      if (x.length) x[Math.min(at, x.length - 1)] ^= 1 << g.int(8);
      return x;
    }
  }
}
