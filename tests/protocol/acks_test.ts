import assert from "node:assert/strict";
import { decode } from "@msgpack/msgpack";
import {
  frameOf,
  V1_ALLOW,
  v2JsonAckSize,
  v2MsgpackAckSize,
  writeV2JsonAck,
  writeV2MsgpackAck,
} from "../../src/protocol/acks.ts";
import { checkAgentResponse } from "../helpers/answer_check.ts";
import { casesOf } from "../helpers/vector_cases.ts";

const te = new TextEncoder();
const td = new TextDecoder("utf-8", { fatal: true });

function hex(b: Uint8Array): string {
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function fromHex(h: string): Uint8Array {
  return new Uint8Array((h.match(/../g) ?? []).map((x) => parseInt(x, 16)));
}

function u32At(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset + at).getUint32(0);
}

/** Build a JSON ack for the raw (escaped) id text; returns the whole frame. */
function jsonAck(raw: string): Uint8Array {
  const src = te.encode(raw);
  const out = new Uint8Array(v2JsonAckSize(src.length));
  const end = writeV2JsonAck(out, 0, src, 0, src.length);
  assert.equal(end, out.length, "v2JsonAckSize matches what is written");
  return out;
}

function msgpackAck(id: string): Uint8Array {
  const src = te.encode(id);
  const out = new Uint8Array(v2MsgpackAckSize(src.length));
  const end = writeV2MsgpackAck(out, 0, src, 0, src.length);
  assert.equal(end, out.length, "v2MsgpackAckSize matches what is written");
  return out;
}

/** Check the v2 header and return the payload (after length and type byte). */
function v2Payload(frame: Uint8Array): Uint8Array {
  assert.equal(u32At(frame, 0), frame.length - 4, "N counts type byte + payload");
  assert.equal(frame[4], 0x20, "type byte AgentResponse");
  return frame.subarray(5);
}

const LENGTHS = [0, 1, 31, 32, 255, 256, 65535, 65536];

function idOfLength(n: number): string {
  const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz-_.";
  let s = "";
  for (let i = 0; i < n; i++) s += alphabet[(i * 7) % alphabet.length];
  return s;
}

Deno.test("V1_ALLOW is the minimal v1 ack byte for byte", () => {
  const body = `{"version":1,"decision":"allow"}`;
  assert.equal(hex(V1_ALLOW), "00000020" + hex(te.encode(body)));
  assert.equal(u32At(V1_ALLOW, 0), V1_ALLOW.length - 4);
  assert.deepEqual(JSON.parse(td.decode(V1_ALLOW.subarray(4))), {
    version: 1,
    decision: "allow",
  });
  assert.deepEqual(checkAgentResponse(V1_ALLOW.subarray(4), "json", 1), { cid: "" });
});

Deno.test("V1_ALLOW matches the v1_decode_response ok form", () => {
  const ok = casesOf("v1_decode_response").filter((c) => c.result.ok);
  const texts = ok.map((c) => c.input.text as string);
  assert.ok(texts.includes(td.decode(V1_ALLOW.subarray(4))));
});

Deno.test("writeV2JsonAck() writes the PROTOCOL.md §4 example exactly", () => {
  const f = jsonAck("2Fq8xK3mNpQ");
  const body =
    `{"version":2,"decision":"allow","audit":{"custom":{"correlation_id":"2Fq8xK3mNpQ"}}}`;
  assert.equal(hex(f), "0000005520" + hex(te.encode(body)));
});

Deno.test("writeV2JsonAck() decodes to the exact §4 shape for ids of many lengths", () => {
  for (const n of LENGTHS) {
    const id = idOfLength(n);
    const f = jsonAck(id);
    const payload = v2Payload(f);
    assert.deepEqual(JSON.parse(td.decode(payload)), {
      version: 2,
      decision: "allow",
      audit: { custom: { correlation_id: id } },
    }, `length ${n}`);
    assert.deepEqual(checkAgentResponse(payload, "json", 2), { cid: id }, `length ${n}`);
  }
});

Deno.test("writeV2JsonAck() echoes non-ASCII ids as raw UTF-8", () => {
  for (const id of ["é", "日本語-ид", "😀", "\u2028x"]) {
    const payload = v2Payload(jsonAck(id));
    assert.equal(JSON.parse(td.decode(payload)).audit.custom.correlation_id, id);
    assert.equal(checkAgentResponse(payload, "json", 2).cid, id);
  }
});

Deno.test("writeV2JsonAck() copies escaped ids raw so the proxy decodes the same id", () => {
  const cases: [string, string][] = [
    [`a\\"b`, `a"b`],
    [`back\\\\slash`, `back\\slash`],
    [`caf\\u00e9`, `café`],
    [`\\u00E9\\ud83d\\ude00`, `é😀`],
    [`s\\/l`, `s/l`],
    [`\\b\\f\\n\\r\\t\\u0000`, `\b\f\n\r\t\u0000`],
    [`\\\\\\"`, `\\"`],
  ];
  for (const [raw, id] of cases) {
    const payload = v2Payload(jsonAck(raw));
    assert.equal(JSON.parse(td.decode(payload)).audit.custom.correlation_id, id, raw);
    assert.equal(checkAgentResponse(payload, "json", 2).cid, id, raw);
  }
});

Deno.test("writeV2JsonAck() matches a v2_decode_response ok:true allow form", () => {
  const forms = casesOf("v2_decode_response").filter((c) =>
    c.result.ok && c.input.encoding === "json" && typeof c.input.text === "string" &&
    JSON.stringify((c.result.value as { decision: unknown }).decision) === '"allow"'
  );
  const abc = forms.find((c) => c.result.cid === "abc");
  assert.ok(abc, "the vectors hold a JSON allow form for id abc");
  assert.equal(td.decode(v2Payload(jsonAck("abc"))), abc.input.text);
});

Deno.test("writeV2JsonAck() writes at an offset without touching other bytes", () => {
  const src = te.encode(`{"correlation_id":"c-9"}`);
  const start = src.indexOf(0x63, 2 + 14 + 2); // the 'c' of c-9
  const len = v2JsonAckSize(3);
  const out = new Uint8Array(7 + len + 5).fill(0xee);
  const end = writeV2JsonAck(out, 7, src, start, start + 3);
  assert.equal(end, 7 + len);
  assert.ok(out.subarray(0, 7).every((x) => x === 0xee));
  assert.ok(out.subarray(end).every((x) => x === 0xee));
  assert.equal(checkAgentResponse(v2Payload(out.subarray(7, end)), "json", 2).cid, "c-9");
});

Deno.test("writeV2JsonAck() frames several acks back to back", () => {
  const ids = ["a", "", "ccc"];
  const srcs = ids.map((i) => te.encode(i));
  const out = new Uint8Array(srcs.reduce((n, s) => n + v2JsonAckSize(s.length), 0));
  let at = 0;
  for (const s of srcs) at = writeV2JsonAck(out, at, s, 0, s.length);
  assert.equal(at, out.length);
  let o = 0;
  for (const id of ids) {
    const n = u32At(out, o);
    assert.equal(checkAgentResponse(out.subarray(o + 5, o + 4 + n), "json", 2).cid, id);
    o += 4 + n;
  }
});

Deno.test("writeV2MsgpackAck() writes the PROTOCOL.md §4 example exactly", () => {
  const f = msgpackAck("2Fq8xK3mNpQ");
  const want = "0000004420" + "83" + "a7" + hex(te.encode("version")) + "02" + "a8" +
    hex(te.encode("decision")) + "a5" + hex(te.encode("allow")) + "a5" +
    hex(te.encode("audit")) + "81" + "a6" + hex(te.encode("custom")) + "81" + "ae" +
    hex(te.encode("correlation_id")) + "ab" + hex(te.encode("2Fq8xK3mNpQ"));
  assert.equal(hex(f), want);
});

Deno.test("writeV2MsgpackAck() decodes to the exact §4 shape for ids of many lengths", () => {
  for (const n of LENGTHS) {
    const id = idOfLength(n);
    const payload = v2Payload(msgpackAck(id));
    assert.deepEqual(decode(payload), {
      version: 2,
      decision: "allow",
      audit: { custom: { correlation_id: id } },
    }, `length ${n}`);
    assert.deepEqual(checkAgentResponse(payload, "msgpack", 2), { cid: id }, `length ${n}`);
  }
});

Deno.test("writeV2MsgpackAck() uses the smallest string header, as rmp does", () => {
  const headerOf = (n: number) => {
    const p = v2Payload(msgpackAck(idOfLength(n)));
    return p[p.length - n - (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5)];
  };
  assert.equal(headerOf(0), 0xa0);
  assert.equal(headerOf(31), 0xbf);
  assert.equal(headerOf(32), 0xd9);
  assert.equal(headerOf(255), 0xd9);
  assert.equal(headerOf(256), 0xda);
  assert.equal(headerOf(65535), 0xda);
  assert.equal(headerOf(65536), 0xdb);
});

Deno.test("writeV2MsgpackAck() echoes non-ASCII ids by their UTF-8 byte length", () => {
  for (const id of ["é", "日本語-ид", "😀".repeat(8), "é".repeat(16), "日".repeat(100)]) {
    const payload = v2Payload(msgpackAck(id));
    assert.equal(
      (decode(payload) as { audit: { custom: { correlation_id: string } } }).audit
        .custom.correlation_id,
      id,
    );
    assert.equal(checkAgentResponse(payload, "msgpack", 2).cid, id);
  }
});

Deno.test("writeV2MsgpackAck() matches a v2_decode_response ok:true allow form", () => {
  const named = casesOf("v2_decode_response").find((c) =>
    c.input.encoding === "msgpack" && c.input.name === "named-map"
  );
  assert.ok(named && named.result.ok && named.result.cid === "abc");
  assert.equal(hex(v2Payload(msgpackAck("abc"))), named.input.hex);
});

Deno.test("writeV2MsgpackAck() writes at an offset from a source range", () => {
  const src = te.encode("xxIDyy");
  const len = v2MsgpackAckSize(2);
  const out = new Uint8Array(3 + len + 3).fill(0xee);
  const end = writeV2MsgpackAck(out, 3, src, 2, 4);
  assert.equal(end, 3 + len);
  assert.ok(out.subarray(0, 3).every((x) => x === 0xee));
  assert.ok(out.subarray(end).every((x) => x === 0xee));
  assert.equal(checkAgentResponse(v2Payload(out.subarray(3, end)), "msgpack", 2).cid, "ID");
});

Deno.test("v2 ack payloads equal the ok:true vector forms for every id they contain", () => {
  // Every ok:true allow form in the vectors that is exactly a minimal ack: rebuild it.
  let compared = 0;
  for (const c of casesOf("v2_decode_response")) {
    if (!c.result.ok) continue;
    const cid = c.result.cid ?? "";
    if (c.input.encoding === "json" && typeof c.input.text === "string") {
      const minimal = `{"version":2,"decision":"allow","audit":{"custom":{"correlation_id":${
        JSON.stringify(cid)
      }}}}`;
      if (c.input.text !== minimal) continue;
      assert.equal(td.decode(v2Payload(jsonAck(cid))), c.input.text);
      compared++;
    } else if (c.input.encoding === "msgpack" && typeof c.input.hex === "string") {
      if (c.input.hex !== hex(v2Payload(msgpackAck(cid)))) continue;
      compared++;
    }
  }
  assert.ok(compared >= 2, `compared ${compared}`);
});

Deno.test("frameOf() builds v1 and v2 frames with the right length field", () => {
  const body = te.encode("hello");
  assert.equal(hex(frameOf(null, body)), "00000005" + hex(body));
  assert.equal(hex(frameOf(0x42, body)), "0000000642" + hex(body));
  assert.equal(hex(frameOf(0x42, new Uint8Array(0))), "0000000142");
  const big = new Uint8Array(70000);
  const f = frameOf(0x02, big);
  assert.equal(u32At(f, 0), 70001);
  assert.equal(f.length, 70005);
});

Deno.test("ack sizes agree with fromHex of the PROTOCOL.md §4 headers", () => {
  assert.equal(u32At(fromHex("00000055"), 0), v2JsonAckSize(11) - 4);
  assert.equal(u32At(fromHex("00000044"), 0), v2MsgpackAckSize(11) - 4);
});
