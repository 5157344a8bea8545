/**
 * The books balance (DESIGN.md §3): every event received is emitted, dropped by reason, or
 * still in flight — read from the agent's own /metrics while it runs, with the pipeline
 * stalled so that the hand-off queue overflows and sheds.
 */

import assert from "node:assert/strict";
import { accountingBooks, startAgent } from "../helpers/agent.ts";
import { connectV2 } from "../helpers/proxy_client.ts";
import { requestHeadersEvent as rh } from "../helpers/proxy_encode.ts";

Deno.test("accounting: received = emitted + dropped + in flight, with a stalled pipeline", async () => {
  await using agent = await startAgent({
    config:
      `handoff { max-events 300; batch-events 50; }\nsampling { rate 0.5; }\nlifecycle { ttl-ms 500; }`,
    args: ["--fault-pipeline-delay-ms", "40"],
  });
  const c = await connectV2(agent.socketPath, { encodings: ["json"] });
  const n = 2000;
  for (let i = 0; i < n; i++) {
    const cid = `k${i}`;
    await c.send("request_headers", rh(cid));
    await c.send("response_headers", {
      correlation_id: cid,
      status: i % 7 ? 200 : 500,
      headers: {},
    });
    if (i % 100 === 99) { for (let j = i - 99; j <= i; j++) await c.answer(`k${j}`); }
  }
  // Every event was answered although the pipeline could not keep up.
  const mid = accountingBooks(await agent.metrics());
  assert.equal(mid.received, 2 * n);
  assert.equal(mid.received, mid.emitted + mid.dropped + mid.inFlight, JSON.stringify(mid));
  const m = await agent.metrics();
  assert.ok(
    (m.get(
      'telemetry_events_dropped_total{intentional="false",reason="queue_full",stage="handoff"}',
    ) ?? 0) > 0,
  );
  // Quiesce: wait until nothing is in flight any more, then the identity holds with 0 in flight.
  let end = accountingBooks(await agent.metrics());
  for (let t = 0; t < 200 && end.inFlight > 0; t++) {
    await new Promise((r) => setTimeout(r, 100));
    end = accountingBooks(await agent.metrics());
  }
  assert.equal(end.inFlight, 0, JSON.stringify(end));
  assert.equal(end.received, end.emitted + end.dropped, JSON.stringify(end));
  // Memory by thread (the worker's from its snapshot) and for the whole process.
  const mem = await agent.metrics();
  for (const thread of ["main", "pipeline"]) {
    const used = mem.get(`telemetry_js_memory_bytes{kind="heap_used",thread="${thread}"}`) ?? 0;
    const total = mem.get(`telemetry_js_memory_bytes{kind="heap_total",thread="${thread}"}`) ?? 0;
    assert.ok(used > 1 << 20 && total >= used, `${thread}: ${used} of ${total}`);
    assert.ok(mem.has(`telemetry_js_memory_bytes{kind="external",thread="${thread}"}`), thread);
  }
  assert.ok((mem.get("process_resident_memory_bytes") ?? 0) > 16 << 20);
  c.close();
  assert.equal((await agent.stop()).code, 0);
});
