/**
 * The running agent answers every event the real proxy writes (PROTOCOL.md §8 "Decode", §9.2–9.7):
 * v1, v2 + JSON and v2 + MessagePack, one valid ack per frame, and the pipeline decodes them all.
 * @module
 */

import assert from "node:assert/strict";
import { type AgentProcess, startAgent } from "../helpers/agent.ts";
import { type EventName, eventType, frameV1, frameV2, hexToBytes } from "../helpers/frames.ts";
import { connectV1, connectV2, withTimeout } from "../helpers/proxy_client.ts";
import { casesOf } from "../helpers/vector_cases.ts";

/** Sum of every sample of a metric family (all label sets). */
function total(metrics: Map<string, number>, name: string): number {
  let sum = 0;
  for (const [key, v] of metrics) if (key === name || key.startsWith(`${name}{`)) sum += v;
  return sum;
}

/**
 * Wait until the pipeline has decoded `want` events, then check that none failed to decode:
 * the acks alone do not prove the worker understood what the proxy sent.
 */
async function assertPipelineDecoded(agent: AgentProcess, want: number): Promise<void> {
  let m = await agent.metrics();
  await withTimeout(
    (async () => {
      while (total(m, "telemetry_pipeline_events_decoded_total") < want) {
        await new Promise((r) => setTimeout(r, 50));
        m = await agent.metrics();
      }
    })(),
    10_000,
    `pipeline decoding ${want} events`,
  ).catch(() => {});
  const failed = [...m].filter(([k, v]) => k.includes('stage="decode"') && v > 0);
  assert.deepStrictEqual(failed, [], "events the pipeline could not decode");
  assert.equal(total(m, "telemetry_pipeline_events_decoded_total"), want, "events decoded");
  const warnings = agent.logs().filter((l) => l.msg === "event could not be decoded");
  assert.deepStrictEqual(warnings, []);
}

Deno.test("agent answers every v1_encode_request vector with version 1, in order", async () => {
  await using agent = await startAgent();
  const cases = casesOf("v1_encode_request");
  assert.equal(cases.length, 16);
  await using c = await connectV1(agent.socketPath);
  for (const [i, v] of cases.entries()) {
    await c.write(frameV1(hexToBytes(v.result.hex!)));
    await c.next();
    assert.equal(c.received, i + 1, `exactly one answer per frame (${v.input.event_type})`);
  }
  assert.deepStrictEqual(c.violations, []);
  assert.equal(c.closedByAgent, false);
  await assertPipelineDecoded(agent, 16);
});

for (const encoding of ["json", "msgpack"] as const) {
  Deno.test(`agent acks every v2_encode_event ${encoding} vector with its correlation id`, async () => {
    await using agent = await startAgent();
    const offered = encoding === "json" ? ["json"] : ["msgpack", "json"];
    await using c = await connectV2(agent.socketPath, { encodings: offered });
    assert.equal(
      c.encoding,
      encoding,
      `offered ${offered.join(",")}: the agent must pick the first`,
    );
    assert.equal(c.handshake?.protocolVersion, 2);
    const cases = casesOf("v2_encode_event").filter((v) => v.input.encoding === encoding);
    assert.equal(cases.length, 18);
    for (const v of cases) {
      const cid = v.input.correlation_id as string;
      c.expect(cid);
      await c.write(frameV2(eventType(v.input.msg as EventName), hexToBytes(v.result.hex!)));
      await c.answer(cid);
    }
    assert.deepStrictEqual(c.violations, []);
    assert.equal(c.outstanding, 0);
    await assertPipelineDecoded(agent, 18);
  });
}

Deno.test("agent picks an offered encoding in every handshake the proxy sends", async () => {
  await using agent = await startAgent();
  const want: [string[], "json" | "msgpack"][] = [
    [["json"], "json"],
    [[], "json"],
    [["msgpack", "json"], "msgpack"],
    [["msgpack"], "msgpack"],
  ];
  for (const [offered, encoding] of want) {
    await using c = await connectV2(agent.socketPath, { encodings: offered });
    assert.equal(c.encoding, encoding, `offered [${offered}]`);
    assert.deepStrictEqual(c.violations, []);
  }
});
