/**
 * The pipeline as the worker runs it, fed hand-off batches directly: records come out of the
 * file sink in order, each under the settings in force when its events arrived — a proxy
 * `configure` in the middle of a batch changes only what comes after it.
 */

import assert from "node:assert/strict";
import { defaultConfig } from "../../src/config/defaults.ts";
import { type HandoffBatch, INDEX_STRIDE } from "../../src/ingress/handoff.ts";
import { configureLog } from "../../src/obs/log.ts";
import { Pipeline } from "../../src/pipeline/pipeline.ts";
import { Encoding, EVENT_KINDS, type EventKind } from "../../src/protocol/constants.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { eventJson, requestHeadersEvent, responseHeadersEvent } from "../helpers/proxy_encode.ts";

type Event = [EventKind, Uint8Array];

/** One hand-off batch of v2 JSON event bodies, as the ack path builds it. */
function batch(events: Event[]): HandoffBatch {
  const total = events.reduce((n, [, b]) => n + b.length, 0);
  const buf = new Uint8Array(total);
  const index = new Float64Array(events.length * INDEX_STRIDE);
  let off = 0;
  events.forEach(([kind, body], i) => {
    buf.set(body, off);
    index.set(
      [off, body.length, EVENT_KINDS.indexOf(kind), Encoding.Json, Date.now()],
      i * INDEX_STRIDE,
    );
    off += body.length;
  });
  return { type: "batch", buf: buf.buffer, index, count: events.length, queued: 0, capacity: 1000 };
}

function lifecycle(cid: string): Event[] {
  return [
    ["request_headers", eventJson("request_headers", requestHeadersEvent(cid), cid)],
    ["response_headers", eventJson("response_headers", responseHeadersEvent(cid), cid)],
  ];
}

function configure(config: Record<string, unknown>): Event {
  const body = new TextEncoder().encode(JSON.stringify({ correlation_id: "cfg", config }));
  return ["configure", body];
}

async function records(dir: string): Promise<TelemetryRecord[]> {
  const out: TelemetryRecord[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.name.endsWith(".ndjson")) continue;
    const text = await Deno.readTextFile(`${dir}/${e.name}`);
    for (const line of text.split("\n")) if (line) out.push(JSON.parse(line));
  }
  return out;
}

Deno.test("a proxy configure applies to what arrives after it, not to lifecycles already finished in the batch", async () => {
  configureLog("error");
  const dir = await Deno.makeTempDir({ prefix: "telemetry-pipeline-" });
  try {
    const config = defaultConfig();
    config.sinks[0].options.directory = dir;
    config.enrichment = { ...config.enrichment, geoip: false, asn: false, threatIntel: false };
    const p = await Pipeline.create(config, [], { id: "t", version: "0", host: "h" });
    // One batch: A finishes, the proxy turns sampling down to nothing, then B finishes.
    p.ingest(batch([...lifecycle("A"), configure({ sampling: { rate: 0 } }), ...lifecycle("B")]));
    // A later batch: still sampled out under the new setting.
    p.ingest(batch(lifecycle("C")));
    assert.equal(await p.drain(10_000), true);
    const got = await records(dir);
    assert.deepEqual(got.map((r) => r.request.correlation_id), ["A"]);
    assert.equal(got[0].sample_rate, 1);
    assert.equal(got[0].request.path, "/api/v1/users/42");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
