/**
 * Graceful shutdown and reload, end to end: SIGTERM loses nothing that was accepted; SIGHUP
 * applies what is safe and says what needs a restart.
 */

import assert from "node:assert/strict";
import { startAgent } from "../helpers/agent.ts";
import { connectV2 } from "../helpers/proxy_client.ts";
import { requestHeadersEvent as rh } from "../helpers/proxy_encode.ts";
import { readRecords } from "../helpers/records.ts";

async function sendLifecycles(path: string, prefix: string, n: number, withResponse = true) {
  const c = await connectV2(path, { encodings: ["msgpack", "json"] });
  for (let i = 0; i < n; i++) {
    await c.send("request_headers", rh(`${prefix}${i}`));
    if (withResponse) {
      await c.send("response_headers", {
        correlation_id: `${prefix}${i}`,
        status: 200,
        headers: {},
      });
    }
  }
  for (let i = 0; i < n; i++) await c.answer(`${prefix}${i}`);
  if (withResponse) { for (let i = 0; i < n; i++) await c.answer(`${prefix}${i}`); }
  return c;
}

Deno.test("SIGTERM drains: every accepted lifecycle reaches the file sink", async () => {
  await using agent = await startAgent({
    config: `sink "file" { directory "./data"; batch-size 5000; flush-interval-ms 60000; }`,
  });
  const c = await sendLifecycles(agent.socketPath, "t", 3000);
  const open = await sendLifecycles(agent.socketPath, "o", 10, false);
  const { code } = await agent.stop();
  c.close();
  open.close();
  assert.equal(code, 0);
  const records = await readRecords(agent);
  const complete = records.filter((r) => !r.partial);
  const partial = records.filter((r) => r.partial);
  assert.equal(complete.length, 3000);
  assert.equal(partial.length, 10);
  assert.ok(partial.every((r) => r.partial_reason === "shutdown"));
  const leftovers = [...Deno.readDirSync(agent.dataDir)].filter((e) => !e.name.endsWith(".ndjson"));
  assert.deepEqual(leftovers.map((e) => e.name), []);
});

Deno.test("SIGHUP reloads sampling and names what needs a restart", async () => {
  await using agent = await startAgent({ config: `sampling { rate 1.0; }` });
  const file = `${agent.tmpDir}/telemetry.kdl`;
  (await sendLifecycles(agent.socketPath, "a", 20)).close();
  await Deno.writeTextFile(
    file,
    `sampling { rate 0.0; always-sample-errors false; }\nhandoff { max-events 5000; }`,
  );
  agent.signal("SIGHUP");
  for (
    let i = 0;
    i < 50 && !agent.logs().some((l) => l.msg?.toString().startsWith("config reloaded"));
    i++
  ) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const line = agent.logs().find((l) => String(l.msg).startsWith("config reloaded"));
  assert.ok(line, agent.stderrText());
  assert.deepEqual(line.needs_restart, ["handoff"]);
  (await sendLifecycles(agent.socketPath, "b", 20)).close();
  let m = await agent.metrics();
  const settled = () =>
    (m.get("telemetry_events_emitted_total") ?? 0) +
        (m.get(
          'telemetry_events_dropped_total{intentional="true",reason="sampled_out",stage="sample"}',
        ) ??
          0) >= 80;
  for (let i = 0; i < 100 && !settled(); i++) {
    await new Promise((r) => setTimeout(r, 100));
    m = await agent.metrics();
  }
  assert.equal(
    m.get('telemetry_events_dropped_total{intentional="true",reason="sampled_out",stage="sample"}'),
    40,
  );
  assert.equal(m.get("telemetry_events_emitted_total"), 40);
  await Deno.writeTextFile(file, `sampling { rate 7; }`);
  agent.signal("SIGHUP");
  for (
    let i = 0;
    i < 50 && !agent.logs().some((l) => String(l.msg).startsWith("config reload failed"));
    i++
  ) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(agent.logs().some((l) => String(l.msg).startsWith("config reload failed")));
  assert.equal((await agent.stop()).code, 0);
});
