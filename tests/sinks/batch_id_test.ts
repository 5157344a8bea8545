import assert from "node:assert/strict";
import { newBatchId } from "../../src/sinks/_batch_id.ts";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

Deno.test("newBatchId() returns UUIDv7 strings that sort in creation order", () => {
  const ids = Array.from({ length: 10_000 }, () => newBatchId());
  for (const id of ids) assert.match(id, UUID_V7);
  assert.equal(new Set(ids).size, ids.length);
  assert.deepEqual([...ids].sort(), ids);
});

Deno.test("newBatchId() carries the current time in its first 48 bits", () => {
  const before = Date.now();
  const id = newBatchId();
  const ms = parseInt(id.replaceAll("-", "").slice(0, 12), 16);
  assert.ok(ms >= before && ms <= Date.now() + 1, `${ms} vs ${before}`);
});
