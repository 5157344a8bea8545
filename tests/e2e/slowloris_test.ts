/**
 * Slowloris-style clients (issue 8, promise 7): a frame header then silence, thousands of idle
 * connections, a client that never reads its answers. Each is bounded by a limit, and a healthy
 * proxy connection opened beside it keeps getting its answers.
 */

import assert from "node:assert/strict";
import { startAgent } from "../helpers/agent.ts";
import { connectV2, type V2Client } from "../helpers/proxy_client.ts";
import { requestHeadersEvent, v2EventFrame } from "../helpers/proxy_encode.ts";
import { u32be } from "../helpers/frames.ts";

const LIMITS = `ingress {
  max-connections 300
  frame-timeout-ms 500
  write-timeout-ms 500
}`;

/** The healthy connection still answers a fresh event within the emulator's 2 s timeout. */
async function stillAnswers(c: V2Client, tag: string): Promise<void> {
  const cid = `healthy-${tag}`;
  await c.send("request_headers", requestHeadersEvent(cid));
  await c.answer(cid);
}

async function closedWithin(conn: Deno.UnixConn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(64 * 1024);
  const deadline = Date.now() + ms;
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const n = await Promise.race([
        conn.read(buf),
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), left)),
      ]);
      if (n === "timeout") return false;
      if (n === null) return true;
    }
  } catch {
    return true; // reset by the agent: closed
  }
}

Deno.test("slowloris: a frame header then silence is closed after frame-timeout-ms", async () => {
  await using agent = await startAgent({ config: LIMITS });
  const healthy = await connectV2(agent.socketPath, { encodings: ["json"] });
  const slow = await Deno.connect({ transport: "unix", path: agent.socketPath });
  await slow.write(new Uint8Array([...u32be(700), 0x7b])); // v1 header and one byte, then silence
  await stillAnswers(healthy, "during");
  assert.ok(await closedWithin(slow, 5000), "the stalled connection was not closed");
  await stillAnswers(healthy, "after");
  const m = await agent.metrics();
  assert.equal(m.get('telemetry_ingress_connections_closed_total{reason="frame_timeout"}'), 1);
  slow.close();
  healthy.close();
});

Deno.test("slowloris: connections past max-connections are refused, the proxy's are served", async () => {
  await using agent = await startAgent({ config: LIMITS });
  const healthy = await connectV2(agent.socketPath, { encodings: ["json"] });
  const idle: Deno.UnixConn[] = [];
  for (let i = 0; i < 1000; i++) {
    idle.push(await Deno.connect({ transport: "unix", path: agent.socketPath }));
  }
  await stillAnswers(healthy, "crowded");
  let m = await agent.metrics();
  for (
    let i = 0;
    i < 50 &&
    (m.get('telemetry_ingress_connections_closed_total{reason="connection_limit"}') ?? 0) < 701;
    i++
  ) {
    await new Promise((r) => setTimeout(r, 100));
    m = await agent.metrics();
  }
  // 1 healthy + 299 idle fit under the limit of 300; the other 701 were refused.
  assert.equal(m.get('telemetry_ingress_connections_closed_total{reason="connection_limit"}'), 701);
  assert.equal(m.get("telemetry_ingress_connections_open"), 300);
  for (const c of idle) c.close();
  await stillAnswers(healthy, "after");
  healthy.close();
});

Deno.test("slowloris: a client that never reads its answers is closed, others unaffected", async () => {
  await using agent = await startAgent({ config: LIMITS });
  const healthy = await connectV2(agent.socketPath, { encodings: ["json"] });
  const greedy = await Deno.connect({ transport: "unix", path: agent.socketPath });
  const { handshakeFrame } = await import("../helpers/proxy_encode.ts");
  await greedy.write(handshakeFrame(["json"]));
  // Write events and never read: the agent's answers fill the socket buffers, its write blocks.
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) {
    frames.push(v2EventFrame("request_headers", requestHeadersEvent(`g-${i}`), `g-${i}`, "json"));
  }
  const batch = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let o = 0;
  for (const f of frames) {
    batch.set(f, o);
    o += f.length;
  }
  const writer = (async () => {
    try {
      for (let i = 0; i < 200; i++) {
        // Deno's write may take part of the buffer: write it all, as a real client does.
        for (let off = 0; off < batch.length;) off += await greedy.write(batch.subarray(off));
      }
    } catch {
      // the agent closed it: expected
    }
  })();
  await stillAnswers(healthy, "while-greedy");
  let m = await agent.metrics();
  for (
    let i = 0;
    i < 100 && !m.get('telemetry_ingress_connections_closed_total{reason="write_timeout"}');
    i++
  ) {
    await new Promise((r) => setTimeout(r, 100));
    m = await agent.metrics();
  }
  assert.equal(m.get('telemetry_ingress_connections_closed_total{reason="write_timeout"}'), 1);
  await writer;
  await stillAnswers(healthy, "after");
  greedy.close();
  healthy.close();
});
