import assert from "node:assert/strict";
import { decodeMulti, encode } from "@msgpack/msgpack";
import { scanMsgpackCid } from "../../src/protocol/msgpack_scan.ts";
import { rng } from "../helpers/rng.ts";

const te = new TextEncoder();
const td = new TextDecoder();

type Part = number | string | Uint8Array | readonly number[];

/** Concatenate bytes; a `string` part is the raw UTF-8 of the text (no header). */
function bytes(...parts: Part[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === "number") out.push(p);
    else if (typeof p === "string") out.push(...te.encode(p));
    else out.push(...p);
  }
  return new Uint8Array(out);
}

/** A string with its smallest header, as rmp writes it. */
function str(s: string): Uint8Array {
  return encode(s);
}

const CID_KEY = str("correlation_id");

/** The scanned cid as text; `undefined` when absent; null when rejected. */
function cidOf(b: Uint8Array, start = 0): string | undefined | null {
  const r = scanMsgpackCid(b, start);
  if (r === null || r === undefined) return r;
  assert.ok(r.start >= start && r.end <= b.length && r.start <= r.end, "range inside buffer");
  return td.decode(b.subarray(r.start, r.end));
}

Deno.test("scanMsgpackCid() finds the id of an encoded event", () => {
  const b = encode({
    correlation_id: "c-2",
    status: 200,
    headers: { "content-type": ["application/json"] },
  });
  assert.equal(cidOf(b), "c-2");
});

/** PROTOCOL.md §3.5's response_headers example, duplicate `correlation_id` included. */
function specExample(): Uint8Array {
  return bytes(
    0x84,
    CID_KEY,
    str("c-2"),
    CID_KEY,
    str("c-2"),
    str("status"),
    0xcc,
    0xc8,
    str("headers"),
    0x81,
    str("content-type"),
    0x91,
    str("application/json"),
  );
}

Deno.test("scanMsgpackCid() reads the PROTOCOL.md §3.5 example with its duplicate key", () => {
  const b = specExample();
  assert.equal(cidOf(b), "c-2");
  // With the frame's type byte in front, as ingress calls it.
  assert.equal(cidOf(bytes(0x12, b), 1), "c-2");
});

Deno.test("scanMsgpackCid() keeps the first of two different duplicate ids", () => {
  const b = bytes(0x82, CID_KEY, str("first"), CID_KEY, str("second"));
  assert.equal(cidOf(b), "first");
});

Deno.test("scanMsgpackCid() takes a later string id when the first one is nil", () => {
  const b = bytes(0x82, CID_KEY, 0xc0, CID_KEY, str("later"));
  assert.equal(cidOf(b), "later");
});

Deno.test("scanMsgpackCid() returns undefined when only a nested map has the id", () => {
  const b = encode({ metadata: { correlation_id: "inner" }, method: "GET" });
  assert.equal(cidOf(b), undefined);
  const arr = encode({ metadata: ["inner", "rid"], correlation_id: 5 });
  assert.equal(cidOf(arr), undefined);
});

Deno.test("scanMsgpackCid() ignores a nested id that precedes the top-level one", () => {
  // RequestHeaders: injected id first in rmp order, but a client-built map may put it later.
  const b = encode({ metadata: { correlation_id: "inner" }, correlation_id: "outer" });
  assert.equal(cidOf(b), "outer");
});

Deno.test("scanMsgpackCid() reads a request_headers shape with an 11-element metadata array", () => {
  const metadata = [
    "cid-11",
    "rid",
    "203.0.113.7:51234",
    0,
    null,
    "HTTP/1.1",
    null,
    null,
    null,
    null,
    "2026-03-01T12:00:00.123456789+00:00",
  ];
  const b = bytes(
    0x85,
    CID_KEY,
    str("cid-11"),
    str("metadata"),
    encode(metadata),
    str("method"),
    str("GET"),
    str("uri"),
    str("/"),
    str("headers"),
    encode({ host: ["example.com"], "set-cookie": ["a=1", "b=2"] }),
  );
  assert.equal(cidOf(b), "cid-11");
});

Deno.test("scanMsgpackCid() reads ids in fixstr, str8, str16 and str32 form", () => {
  for (const n of [0, 1, 31, 32, 255, 256, 65535, 65536, 70000]) {
    const id = "x".repeat(n);
    const b = encode({ correlation_id: id, status: 200 });
    assert.equal(cidOf(b), id, `length ${n}`);
  }
});

Deno.test("scanMsgpackCid() reads non-minimal string headers for keys and values", () => {
  const key8 = bytes(0xd9, 14, "correlation_id");
  const key16 = bytes(0xda, 0, 14, "correlation_id");
  const key32 = bytes(0xdb, 0, 0, 0, 14, "correlation_id");
  const v16 = bytes(0xda, 0, 3, "abc");
  const v32 = bytes(0xdb, 0, 0, 0, 3, "abc");
  for (const k of [key8, key16, key32]) {
    for (const v of [v16, v32, bytes(0xd9, 3, "abc")]) {
      assert.equal(cidOf(bytes(0x81, k, v)), "abc");
    }
  }
  // A map16 / map32 top level.
  assert.equal(cidOf(bytes(0xde, 0, 1, CID_KEY, str("m16"))), "m16");
  assert.equal(cidOf(bytes(0xdf, 0, 0, 0, 1, CID_KEY, str("m32"))), "m32");
});

Deno.test("scanMsgpackCid() reads non-ASCII ids byte for byte", () => {
  for (const id of ["é", "日本語", "😀-id", "\u0000nul"]) {
    assert.equal(cidOf(encode({ correlation_id: id })), id);
  }
});

Deno.test("scanMsgpackCid() skips bin, ext, floats and integers of every width", () => {
  const skipped: Uint8Array[] = [
    bytes(0xc4, 3, 1, 2, 3), // bin8
    bytes(0xc5, 0, 2, 9, 9), // bin16
    bytes(0xc6, 0, 0, 0, 1, 7), // bin32
    encode(new Uint8Array(300)), // bin16 via encoder
    bytes(0xd4, 1, 0xaa), // fixext1
    bytes(0xd5, 1, 1, 2), // fixext2
    bytes(0xd6, 1, 1, 2, 3, 4), // fixext4
    bytes(0xd7, 1, 1, 2, 3, 4, 5, 6, 7, 8), // fixext8
    bytes(0xd8, 1, ...new Array(16).fill(0x81)), // fixext16 with map-looking payload
    bytes(0xc7, 2, 5, 0x91, 0x91), // ext8 with array-looking payload
    bytes(0xc8, 0, 1, 5, 0xdf), // ext16
    bytes(0xc9, 0, 0, 0, 1, 5, 0xdd), // ext32
    encode(new Date(1_700_000_000_123)), // timestamp ext
    bytes(0xca, 0, 0, 0, 0), // float32
    bytes(0xcb, 0, 0, 0, 0, 0, 0, 0, 0), // float64
    bytes(0xcc, 0xff),
    bytes(0xcd, 0xff, 0xff),
    bytes(0xce, 0xff, 0xff, 0xff, 0xff),
    bytes(0xcf, 1, 2, 3, 4, 5, 6, 7, 8),
    bytes(0xd0, 0x80),
    bytes(0xd1, 0x80, 0),
    bytes(0xd2, 0x80, 0, 0, 0),
    bytes(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0),
    bytes(0xc0),
    bytes(0xc2),
    bytes(0xc3),
    bytes(0x7f),
    bytes(0xe0),
    bytes(0xff),
  ];
  for (const v of skipped) {
    const b = bytes(0x82, str("v"), v, CID_KEY, str("after"));
    assert.equal(cidOf(b), "after", `after ${[...v.subarray(0, 3)]}`);
  }
});

Deno.test("scanMsgpackCid() skips nested arrays and maps before the id", () => {
  const nested = encode({
    a: [[1, [2, [3, { correlation_id: "no" }]]], { b: { c: [] } }],
    m: new Map<unknown, unknown>([[1, "x"], ["k", [null, true]]]),
    s: "x".repeat(300),
  });
  const b = bytes(0x82, str("n"), nested, CID_KEY, str("yes"));
  assert.equal(cidOf(b), "yes");
  const arr16 = bytes(0xdc, 0, 2, 1, 2);
  const arr32 = bytes(0xdd, 0, 0, 0, 1, 0xc0);
  const map16 = bytes(0xde, 0, 1, 1, 2);
  for (const v of [arr16, arr32, map16]) {
    assert.equal(cidOf(bytes(0x82, str("v"), v, CID_KEY, str("ok"))), "ok");
  }
});

Deno.test("scanMsgpackCid() rejects a declared array length of 2^32-1 with no bytes", () => {
  const b = bytes(0x82, str("a"), 0xdd, 0xff, 0xff, 0xff, 0xff, CID_KEY, str("x"));
  assert.equal(scanMsgpackCid(b, 0), null);
  const alone = bytes(0x81, str("a"), 0xdd, 0xff, 0xff, 0xff, 0xff);
  assert.equal(scanMsgpackCid(alone, 0), null);
});

Deno.test("scanMsgpackCid() rejects lengths that overflow the frame", () => {
  const cases: Uint8Array[] = [
    bytes(0xdf, 0xff, 0xff, 0xff, 0xff, CID_KEY, str("x")), // top map32 of 2^32-1 entries
    bytes(0x81, CID_KEY, 0xdb, 0xff, 0xff, 0xff, 0xff, "abc"), // str32 huge
    bytes(0x81, CID_KEY, 0xda, 0x00, 0x10, "abc"), // str16 past the end
    bytes(0x81, CID_KEY, 0xd9, 4, "abc"), // str8 one past the end
    bytes(0x81, CID_KEY, 0xa4, "abc"), // fixstr one past the end
    bytes(0x81, str("b"), 0xc6, 0xff, 0xff, 0xff, 0xff, 1), // bin32 huge
    bytes(0x81, str("e"), 0xc9, 0xff, 0xff, 0xff, 0xff, 1, 2), // ext32 huge
    bytes(0x81, str("e"), 0xc7, 5, 1, 2), // ext8 short
    bytes(0x81, str("e"), 0xd8, 1, 2, 3), // fixext16 short
    bytes(0x81, str("m"), 0xdf, 0x80, 0, 0, 0), // nested map32 huge
    bytes(0x81, str("m"), 0xde, 0xff, 0xff, 1, 2), // nested map16 short
    bytes(0x81, str("a"), 0xdc, 0xff, 0xff, 1), // array16 short
    bytes(0x81, str("a"), 0x9f, 1, 2, 3), // fixarray short
    bytes(0x81, str("f"), 0xcb, 0, 0, 0), // float64 short
    bytes(0x81, str("i"), 0xcf, 0, 0), // uint64 short
    bytes(0x82, CID_KEY, str("x")), // second entry missing
    bytes(0x81, 0xd9), // key str8 without its length
  ];
  for (const b of cases) assert.equal(scanMsgpackCid(b, 0), null, `[${[...b.subarray(0, 8)]}]`);
});

Deno.test("scanMsgpackCid() rejects the never-used type byte 0xc1 anywhere", () => {
  assert.equal(scanMsgpackCid(bytes(0xc1), 0), null);
  assert.equal(scanMsgpackCid(bytes(0x81, 0xc1, 0xc0), 0), null);
  assert.equal(scanMsgpackCid(bytes(0x82, CID_KEY, str("x"), str("v"), 0xc1), 0), null);
  assert.equal(scanMsgpackCid(bytes(0x81, str("v"), 0x91, 0xc1), 0), null);
});

Deno.test("scanMsgpackCid() rejects a top level that is not a map", () => {
  for (const v of [[], ["correlation_id", "x"], null, "x", 5, new Uint8Array(2)]) {
    assert.equal(scanMsgpackCid(encode(v), 0), null, JSON.stringify(v));
  }
  assert.equal(scanMsgpackCid(new Uint8Array(0), 0), null);
  assert.equal(scanMsgpackCid(bytes(0x12), 1), null);
});

Deno.test("scanMsgpackCid() returns undefined for an empty map or one without the id", () => {
  assert.equal(scanMsgpackCid(bytes(0x80), 0), undefined);
  assert.equal(scanMsgpackCid(encode({ status: 200 }), 0), undefined);
  assert.equal(scanMsgpackCid(encode({ correlation_id: null }), 0), undefined);
  assert.equal(scanMsgpackCid(encode({ correlation_id: 42 }), 0), undefined);
  // A bin id is not a string (the proxy refuses it as a routing key).
  assert.equal(scanMsgpackCid(bytes(0x81, CID_KEY, 0xc4, 1, 0x78), 0), undefined);
  // Keys that only look alike.
  assert.equal(scanMsgpackCid(bytes(0x81, str("correlation_iD"), str("x")), 0), undefined);
  assert.equal(scanMsgpackCid(bytes(0x81, str("correlation_id "), str("x")), 0), undefined);
  assert.equal(scanMsgpackCid(bytes(0x81, 0xc4, 14, "correlation_id", str("x")), 0), undefined);
});

Deno.test("scanMsgpackCid() ignores bytes after the map", () => {
  const b = bytes(encode({ correlation_id: "t" }), 0xc1, 0xdd, 0xff);
  assert.equal(cidOf(b), "t");
});

Deno.test("scanMsgpackCid() rejects every truncation of a realistic event", () => {
  const events = [
    specExample(),
    encode({
      correlation_id: "x".repeat(40),
      data: "QUJD".repeat(100),
      is_last: true,
      total_size: null,
      chunk_index: 70000,
      bytes_received: 2 ** 40,
      f: 1.5,
      n: -129,
      bin: new Uint8Array(300),
      ts: new Date(0),
      deep: [[[{ a: [] }]]],
    }),
  ];
  for (const b of events) {
    assert.notEqual(scanMsgpackCid(b, 0), null);
    for (let k = 0; k < b.length; k++) {
      assert.equal(scanMsgpackCid(b.slice(0, k), 0), null, `prefix ${k}`);
    }
  }
});

Deno.test("scanMsgpackCid() bounds nesting without throwing", () => {
  const nest = (d: number) => bytes(0x81, str("a"), new Array(d).fill(0x91), 0xc0);
  assert.notEqual(scanMsgpackCid(nest(200), 0), null);
  assert.equal(scanMsgpackCid(nest(100_000), 0), null);
  const maps = (d: number) => bytes(0x81, str("a"), ...new Array(d).fill([0x81, 0xa1, 0x62]), 0xc0);
  assert.equal(scanMsgpackCid(maps(50_000), 0), null);
});

Deno.test("scanMsgpackCid() handles a huge declared count cheaply and safely", () => {
  // 2^32-1 nils claimed, a few given: must fail, not loop 4 billion times.
  const b = bytes(0x81, str("a"), 0xdd, 0xff, 0xff, 0xff, 0xff, new Array(64).fill(0xc0));
  assert.equal(scanMsgpackCid(b, 0), null);
});

// ---------------------------------------------------------------------------------------------
// Property tests

function randomValue(r: () => number, depth: number): unknown {
  const k = Math.floor(r() * (depth > 4 ? 8 : 10));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r() < 0.5;
    case 2:
      return Math.floor((r() - 0.5) * 2 ** (r() * 60));
    case 3:
      return r() * 1e10;
    case 4:
      return "s".repeat(Math.floor(r() * (r() < 0.1 ? 70000 : 40)));
    case 5:
      return new Uint8Array(Math.floor(r() * 300));
    case 6:
      return "é😀".repeat(Math.floor(r() * 20));
    case 7:
      return new Date(Math.floor(r() * 2 ** 40));
    case 8:
      return Array.from({ length: Math.floor(r() * 20) }, () => randomValue(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 20);
      for (let i = 0; i < n; i++) o[`k${Math.floor(r() * 50)}`] = randomValue(r, depth + 1);
      if (r() < 0.3) o.correlation_id = "nested";
      return o;
    }
  }
}

function randomEvent(r: () => number): { b: Uint8Array; cid: string | undefined } {
  const o: Record<string, unknown> = {};
  const n = Math.floor(r() * 12);
  const cidAt = r() < 0.9 ? Math.floor(r() * (n + 1)) : -1;
  let cid: string | undefined;
  for (let i = 0; i <= n; i++) {
    if (i === cidAt) {
      cid = `cid-${Math.floor(r() * 1e9)}${"z".repeat(Math.floor(r() * (r() < 0.2 ? 300 : 20)))}`;
      o.correlation_id = cid;
    }
    if (i < n) o[`f${i}`] = randomValue(r, 1);
  }
  return { b: encode(o), cid };
}

Deno.test("scanMsgpackCid() finds the id of random encoded events", () => {
  const r = rng(99);
  for (let i = 0; i < 1000; i++) {
    const { b, cid } = randomEvent(r);
    assert.equal(cidOf(b), cid, `event ${i}`);
  }
});

Deno.test("scanMsgpackCid() rejects random truncations of random events", () => {
  const r = rng(5);
  for (let i = 0; i < 300; i++) {
    const { b } = randomEvent(r);
    for (let t = 0; t < 20; t++) {
      const k = Math.floor(r() * b.length);
      assert.equal(scanMsgpackCid(b.slice(0, k), 0), null, `event ${i} prefix ${k}`);
    }
  }
});

/** Structural errors of the reference decoder (not UTF-8, key-type or ext-content ones). */
function structurallyBroken(b: Uint8Array): boolean {
  try {
    for (const _ of decodeMulti(b)) break;
    return false;
  } catch (e) {
    return e instanceof RangeError || /Unrecognized type byte/.test((e as Error).message);
  }
}

Deno.test("scanMsgpackCid() rejects byte-flipped events the reference decoder cannot frame", () => {
  const r = rng(31337);
  const disagreements: string[] = [];
  let broken = 0;
  for (let i = 0; i < 800; i++) {
    const { b } = randomEvent(r);
    if (b.length > 5000) continue;
    for (let m = 0; m < 10; m++) {
      const x = b.slice();
      const at = Math.floor(r() * x.length);
      x[at] = r() < 0.5 ? Math.floor(r() * 256) : x[at] ^ (1 << Math.floor(r() * 8));
      let got: unknown;
      try {
        got = scanMsgpackCid(x, 0);
      } catch (e) {
        disagreements.push(`threw ${(e as Error).message}`);
        continue;
      }
      if (structurallyBroken(x)) {
        broken++;
        if (got !== null) disagreements.push(`accepted broken ${[...x.subarray(0, 24)]}`);
      }
    }
  }
  assert.ok(broken > 100, `only ${broken} broken mutations`);
  assert.deepEqual(disagreements.slice(0, 5), [], `${disagreements.length} disagreements`);
});
