/**
 * Property-based fuzz targets (fast-check) for the code that reads untrusted input: the frame
 * reader, both protocol versions' scanners and decoders, the config loader and the redaction
 * detectors. Each target states what must hold for ANY input — no exception but the module's
 * own typed error, no hang, bounded buffering — and, where an oracle exists, agrees with it
 * (JSON.parse, @msgpack/msgpack, a reference frame splitter).
 * Test-only.
 * @module
 */

import fc from "fast-check";
import { decode as msgpackDecode, encode as msgpackEncode } from "@msgpack/msgpack";
import { FrameReader, readU32 } from "../../src/protocol/frame_reader.ts";
import { KeySet, scanJsonObject } from "../../src/protocol/json_scan.ts";
import { scanMsgpackCid } from "../../src/protocol/msgpack_scan.ts";
import { DecodeError, decodeEvent, decodeV1, EVENT_KINDS } from "../../src/protocol/decode.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { detect, DETECTORS, mergeSpans, type Span } from "../../src/redact/detectors.ts";

/** One target: a name and a property to check `runs` times. */
export interface Target {
  name: string;
  run(runs: number, seed: number): void;
}

const MAX_FRAME = 4096;
const CID_KEYS = new KeySet(["correlation_id"]);
const enc = new TextEncoder();
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A reference frame splitter over the whole stream: frames, then the error or the rest. */
export function referenceFrames(stream: Uint8Array, max: number) {
  const frames: number[] = [];
  let off = 0;
  while (off + 4 <= stream.length) {
    const n = readU32(stream, off);
    if (n === 0 || n > max) return { frames, error: n === 0 ? "zero_length" : "oversize" };
    if (off + 4 + n > stream.length) break;
    frames.push(n);
    off += 4 + n;
  }
  return { frames, error: null };
}

/** Feed `chunks` to a FrameReader; frames' lengths and the first error. Throws on a broken bound. */
export function readFrames(chunks: Uint8Array[], max: number) {
  const r = new FrameReader(max);
  const frames: number[] = [];
  for (const chunk of chunks) {
    const err = r.feed(chunk, (body) => frames.push(body.length));
    if (r.buffered > max + 4) throw new Error(`buffered ${r.buffered} > ${max + 4}`);
    if (err) return { frames, error: err.code as string };
  }
  return { frames, error: null };
}

const frameStream = fc.array(
  fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((body) => withLength(body, body.length)),
    fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }))
      .map(([body, n]) => withLength(body, n)),
    fc.uint8Array({ maxLength: 16 }),
  ),
  { maxLength: 12 },
).map((parts) => concat(parts));

function withLength(body: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  out.set(body, 4);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Split `bytes` at the given cut points. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(bytes.subarray(at, p));
    at = p;
  }
  out.push(bytes.subarray(at));
  return out;
}

/** A byte-level mutation of `bytes`: flips, inserts, deletes, truncation. */
const mutate = (base: fc.Arbitrary<Uint8Array>) =>
  fc.tuple(
    base,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(3)), {
      maxLength: 6,
    }),
  ).map(([bytes, edits]) => {
    const b = [...bytes];
    for (const [at, v, op] of edits) {
      const i = b.length === 0 ? 0 : at % b.length;
      if (op === 0) b[i] = v;
      else if (op === 1) b.splice(i, 0, v);
      else if (op === 2) b.splice(i, 1);
      else b.length = i;
    }
    return new Uint8Array(b);
  });

const cidValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constant(null));
const jsonObject = fc.tuple(
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }),
  fc.option(cidValue),
).map(([o, cid]) => {
  const out: Record<string, unknown> = { ...o };
  if (cid !== null) out.correlation_id = cid;
  return out;
});
const jsonBytes = fc.oneof(
  jsonObject.map((o) => enc.encode(JSON.stringify(o))),
  fc.jsonValue({ maxDepth: 3 }).map((v) => enc.encode(JSON.stringify(v))),
);

function jsonOracle(bytes: Uint8Array): { valid: boolean; cid?: unknown } | undefined {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return undefined; // not UTF-8: JSON.parse would see replacement characters; no oracle
  }
  try {
    const v = JSON.parse(text);
    const obj = typeof v === "object" && v !== null && !Array.isArray(v);
    return { valid: obj, cid: obj ? v.correlation_id : undefined };
  } catch {
    return { valid: false };
  }
}

/** Valid JSON once raw control characters (invalid inside strings) become spaces. */
function rawControlOnly(bytes: Uint8Array): boolean {
  if (!bytes.some((b) => b < 0x20)) return false;
  const spaced = new TextDecoder().decode(bytes.map((b) => b < 0x20 ? 0x20 : b));
  try {
    const v = JSON.parse(spaced);
    return typeof v === "object" && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}

const msgpackValue = fc.oneof(
  jsonObject.map((o) => msgpackEncode(o)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => msgpackEncode(v)),
);

const KINDS = EVENT_KINDS.filter((k): k is typeof EVENT_KINDS[number] => typeof k === "string");

const KDL_WORDS = [
  "sink",
  "sampling",
  "rate",
  "spool",
  "directory",
  "max-bytes",
  "fsync-ms",
  "full-policy",
  "handoff",
  "max-events",
  "policy",
  "events",
  "socket",
  "metrics",
  "listen",
  "redaction",
  "enrichment",
  "geoip",
  "batch-size",
  "agent",
  "lifecycle",
  "ttl-ms",
  "name",
  "kafka",
  "file",
  "brokers",
  "topic",
  "where",
  "only-errors",
  "patterns",
  "detectors",
];
const kdlToken = fc.oneof(
  fc.constantFrom(...KDL_WORDS),
  fc.constantFrom("{", "}", ";", "\n", " ", '"', "=", "[", "]", "//", "/*", "*/", "#", "\\", 'r#"'),
  fc.integer({ min: -5, max: 1e12 }).map(String),
  fc.constantFrom("true", "false", "null", "0x10", "1e309", "-0", "1_000", '"a\\u{0}"'),
  fc.string({ maxLength: 6 }).map((s) => JSON.stringify(s)),
  fc.string({ maxLength: 4 }),
);
const kdlText = fc.array(kdlToken, { maxLength: 60 }).map((t) => t.join(" "));

const secretish = fc.oneof(
  fc.constantFrom(
    "alice@example.com",
    "4111 1111 1111 1111",
    "GB82 WEST 1234 5698 7654 32",
    "123-45-6789",
    "+1 (555) 010-9999",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig",
    "Bearer abc.def-ghi",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "xoxb-1-2-abc",
    "sk_live_0123456789abcdef",
    "-----BEGIN PRIVATE KEY-----",
    "https://u:p@host/x",
    "10.0.0.1",
  ),
  fc.string({ maxLength: 30 }),
  fc.stringMatching(/^[0-9 .@:\-+]{0,40}$/),
);
const redactText = fc.array(secretish, { maxLength: 12 }).map((p) => p.join(""));

function onlyTyped<E>(fn: () => unknown, ok: (e: unknown) => e is E): void {
  try {
    fn();
  } catch (e) {
    if (!ok(e)) throw e;
  }
}

/** The targets, in a stable order. */
export const TARGETS: readonly Target[] = [
  {
    name: "frame_reader (v1/v2 framing, any chunking)",
    run: (runs, seed) =>
      fc.assert(
        fc.property(frameStream, fc.array(fc.nat(), { maxLength: 8 }), (stream, cuts) => {
          const got = readFrames(split(stream, cuts), MAX_FRAME);
          const want = referenceFrames(stream, MAX_FRAME);
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            throw new Error(`got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
          }
        }),
        { numRuns: runs, seed },
      ),
  },
  {
    name: "json_scan (agrees with JSON.parse)",
    run: (runs, seed) =>
      fc.assert(
        fc.property(fc.oneof(jsonBytes, mutate(jsonBytes)), (bytes) => {
          const res = scanJsonObject(bytes, 0, bytes.length, CID_KEYS);
          const oracle = jsonOracle(bytes);
          if (oracle === undefined) return;
          if ((res !== null) !== oracle.valid) {
            // Known finding (regression_test.ts, json_scan): raw control characters inside
            // strings are accepted. Skipped here so the fuzzer keeps looking for others.
            if (res !== null && rawControlOnly(bytes)) return;
            throw new Error(`scan ${res !== null} vs JSON.parse ${oracle.valid}`);
          }
          const raw = res?.get("correlation_id");
          if (raw && typeof oracle.cid === "string") {
            const text = JSON.parse(`"${utf8.decode(bytes.subarray(raw.start, raw.end))}"`);
            if (text !== oracle.cid) throw new Error(`cid ${text} vs ${oracle.cid}`);
          }
          if (res !== null && typeof oracle.cid === "string" && !raw) {
            throw new Error("correlation_id string not found");
          }
        }),
        { numRuns: runs, seed },
      ),
  },
  {
    name: "msgpack_scan (agrees with @msgpack/msgpack)",
    run: (runs, seed) =>
      fc.assert(
        fc.property(fc.oneof(msgpackValue, mutate(msgpackValue)), (bytes) => {
          const res = scanMsgpackCid(bytes, 0);
          let ref: unknown;
          try {
            ref = msgpackDecode(bytes);
          } catch {
            return; // the reference refuses trailing bytes and more; only agreement on valid input
          }
          const isMap = typeof ref === "object" && ref !== null &&
            Object.getPrototypeOf(ref) === Object.prototype; // not ExtData, Date, bytes, array
          if (isMap && res === null) throw new Error("valid map refused");
          const cid = isMap ? (ref as Record<string, unknown>).correlation_id : undefined;
          if (typeof cid === "string" && res) {
            let got: string;
            try {
              got = utf8.decode(bytes.subarray(res.start, res.end));
            } catch {
              return; // invalid UTF-8: the reference substitutes; the scanner returns raw bytes
            }
            if (got !== cid) throw new Error(`cid ${got} vs ${cid}`);
          }
        }),
        { numRuns: runs, seed },
      ),
  },
  {
    name: "decode (v2 json/msgpack events, v1 requests)",
    run: (runs, seed) =>
      fc.assert(
        fc.property(
          fc.constantFrom(...KINDS),
          fc.constantFrom("json" as const, "msgpack" as const, "v1" as const),
          fc.oneof(jsonBytes, mutate(jsonBytes), msgpackValue, mutate(msgpackValue)),
          (kind, encoding, body) => {
            onlyTyped(
              () => encoding === "v1" ? decodeV1(body) : decodeEvent(kind, encoding, body),
              (e): e is DecodeError => e instanceof DecodeError,
            );
          },
        ),
        { numRuns: runs, seed },
      ),
  },
  {
    name: "config loader (KDL text)",
    run: (runs, seed) =>
      fc.assert(
        fc.property(
          fc.oneof(
            kdlText,
            mutate(kdlText.map((t) => enc.encode(t))).map((b) => new TextDecoder().decode(b)),
          ),
          (text) => {
            onlyTyped(
              () => loadConfigText(text, "fuzz.kdl"),
              (e): e is ConfigError => e instanceof ConfigError,
            );
          },
        ),
        { numRuns: runs, seed },
      ),
  },
  {
    name: "redaction detectors",
    run: (runs, seed) =>
      fc.assert(
        fc.property(redactText, (text) => {
          const spans: Span[] = [];
          detect(text, DETECTORS, spans);
          for (const s of spans) {
            if (!(s.start >= 0 && s.start < s.end && s.end <= text.length)) {
              throw new Error(`span ${JSON.stringify(s)} outside [0, ${text.length}]`);
            }
          }
          const merged = mergeSpans(spans);
          for (let i = 1; i < merged.length; i++) {
            if (merged[i].start < merged[i - 1].end) throw new Error("merged spans overlap");
          }
        }),
        { numRuns: runs, seed },
      ),
  },
];

/** Run every target with `total` cases split evenly; returns the findings (empty: none). */
export function runAll(total: number, seed: number): { cases: number; findings: string[] } {
  const per = Math.ceil(total / TARGETS.length);
  const findings: string[] = [];
  for (const t of TARGETS) {
    try {
      t.run(per, seed);
    } catch (e) {
      findings.push(
        `${t.name}: ${e instanceof Error ? e.message.split("\n").slice(0, 6).join(" ") : e}`,
      );
    }
  }
  return { cases: per * TARGETS.length, findings };
}
