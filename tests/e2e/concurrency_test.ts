/**
 * Many calls in flight (PROTOCOL.md §1 "Concurrency", §9.8): 1,000 pipelined calls on one v2
 * connection, and eight connections of all three kinds at once, every answer matched by id.
 * @module
 */

import assert from "node:assert/strict";
import { startAgent } from "../helpers/agent.ts";
import { concat, type EventName } from "../helpers/frames.ts";
import {
  type JsonObject,
  requestBodyChunkEvent,
  requestHeadersEvent,
  responseHeadersEvent,
} from "../helpers/proxy_encode.ts";
import {
  connectV1,
  connectV2,
  idOf,
  type V1Client,
  type V2Client,
} from "../helpers/proxy_client.ts";

/** Generous: this is about every call being answered, not about speed. */
const ALL_ANSWERED_MS = 20_000;

Deno.test("agent answers 1,000 request_headers pipelined on one v2 connection", async () => {
  await using agent = await startAgent();
  await using c = await connectV2(agent.socketPath);
  const cids = Array.from({ length: 1000 }, (_, i) => `pipe-${i}-${crypto.randomUUID()}`);
  // Every frame is written before any answer is read.
  await c.write(
    concat(cids.map((cid) => c.eventFrame("request_headers", requestHeadersEvent(cid)))),
  );
  await Promise.all(cids.map((cid) => c.answer(cid, ALL_ANSWERED_MS)));
  assert.equal(c.answered.length, 1000);
  assert.deepStrictEqual(new Set(c.answered), new Set(cids));
  assert.equal(c.outstanding, 0);
  assert.deepStrictEqual(c.violations, []);
});

/** One request's events, in the order the proxy sends them. */
function lifecycle(cid: string): [EventName, JsonObject][] {
  return [
    ["request_headers", requestHeadersEvent(cid)],
    ["request_body_chunk", requestBodyChunkEvent(cid)],
    ["response_headers", responseHeadersEvent(cid, 201)],
  ];
}

function events(prefix: string, n: number): [EventName, JsonObject][] {
  const out: [EventName, JsonObject][] = [];
  for (let i = 0; out.length < n; i++) out.push(...lifecycle(`${prefix}-${i}`));
  return out.slice(0, n);
}

async function runV2(c: V2Client, prefix: string, n: number): Promise<void> {
  // As the proxy does: all requests at once, each request's events one after the other
  // (the next after the previous answer), so one id is never pending twice (PROTOCOL.md §3.6).
  const evs = events(prefix, n);
  const byRequest = Map.groupBy(evs, ([kind, ev]) => idOf(kind, ev));
  await Promise.all([...byRequest].map(async ([cid, list]) => {
    for (const [kind, ev] of list) {
      await c.send(kind, ev);
      await c.answer(cid, ALL_ANSWERED_MS);
    }
  }));
  assert.equal(c.answered.length, n, `${prefix}: answers`);
  assert.equal(c.outstanding, 0, `${prefix}: outstanding`);
  assert.deepStrictEqual(c.violations, [], prefix);
}

async function runV1(c: V1Client, prefix: string, n: number): Promise<void> {
  // v1 is one call at a time per connection (PROTOCOL.md §1): send, wait, send.
  for (const [kind, ev] of events(prefix, n)) {
    await c.send(kind, ev);
    await c.next(ALL_ANSWERED_MS);
  }
  assert.equal(c.received, n, `${prefix}: answers`);
  assert.deepStrictEqual(c.violations, [], prefix);
}

Deno.test("agent answers 8 connections of v1, v2 JSON and v2 MessagePack at once", async () => {
  await using agent = await startAgent();
  const v1 = await Promise.all([0, 1, 2].map(() => connectV1(agent.socketPath)));
  const json = await Promise.all([0, 1, 2].map(() => connectV2(agent.socketPath)));
  const msgpack = await Promise.all(
    [0, 1].map(() => connectV2(agent.socketPath, { encodings: ["msgpack", "json"] })),
  );
  try {
    for (const c of msgpack) assert.equal(c.encoding, "msgpack");
    await Promise.all([
      ...v1.map((c, i) => runV1(c, `v1-${i}`, 200)),
      ...json.map((c, i) => runV2(c, `json-${i}`, 200)),
      ...msgpack.map((c, i) => runV2(c, `mp-${i}`, 200)),
    ]);
  } finally {
    await Promise.all([...v1, ...json, ...msgpack].map((c) => c.close()));
  }
});
