import assert from "node:assert/strict";
import { encodeLines, encodeNdjson } from "../../src/sinks/ndjson.ts";
import { makeRecord } from "./_helpers.ts";

Deno.test("encodeNdjson() writes one line per record, each ending in a newline", () => {
  const rec = makeRecord(1);
  rec.request.path = "/a\nb\r\u2028c";
  const text = new TextDecoder().decode(encodeNdjson({ id: "b1", records: [rec, makeRecord(2)] }));
  assert.ok(text.endsWith("\n"));
  const lines = text.slice(0, -1).split("\n");
  assert.equal(lines.length, 2, "a newline inside a value is escaped");
  assert.equal(JSON.parse(lines[0]).request.path, "/a\nb\r\u2028c");
});

Deno.test("encodeNdjson() encodes a batch object once", () => {
  const batch = { id: "b1", records: [makeRecord(1)] };
  const first = encodeNdjson(batch);
  batch.records.push(makeRecord(2));
  assert.equal(encodeNdjson(batch), first, "a retry reuses the bytes");
  assert.notEqual(encodeNdjson({ ...batch }), first);
});

Deno.test("encodeLines() gives no bytes for no values", () => {
  assert.equal(encodeLines([]).length, 0);
});
