/**
 * The agent process fed over its socket, POSTing to a real local HTTP receiver that verifies
 * every request (gzip, bearer token, HMAC signature, batch id) and injects failures: every event
 * arrives exactly once (union of received batches), through 5xx/429 with Retry-After, slow
 * answers and a receiver outage; a 4xx drops the batch with a log line and a counter.
 */

import assert from "node:assert/strict";
import { startAgent } from "../helpers/agent.ts";
import { startReceiver } from "../helpers/http_receiver.ts";
import { sendLifecycles, waitCount } from "../helpers/lifecycles.ts";
import { connectV2 } from "../helpers/proxy_client.ts";

const SECRET = "e2e-hmac-secret";

function sinkBlock(url: string, extra = ""): string {
  return `sink "http" {
    url "${url}"
    compression "gzip"
    bearer-token-env "TELEMETRY_E2E_TOKEN"
    hmac-secret-env "TELEMETRY_E2E_HMAC"
    headers { x-source "e2e"; }
    timeout-ms 1000
    ${extra}
}`;
}

const ENV = { TELEMETRY_E2E_TOKEN: "tok-123", TELEMETRY_E2E_HMAC: SECRET };

Deno.test("e2e: agent → HTTP endpoint", async (t) => {
  await t.step(
    "every event arrives exactly once, signed, gzipped, with the bearer token",
    async () => {
      await using rx = await startReceiver({ authorization: "Bearer tok-123", hmacSecret: SECRET });
      await using agent = await startAgent({
        config: sinkBlock(rx.url, "batch-size 100\n flush-interval-ms 200"),
        env: ENV,
      });
      const c = await connectV2(agent.socketPath, { encodings: ["json"] });
      await sendLifecycles(c, "h", 500);
      await waitCount(() => rx.records().length, 500, "records received");
      await c.close();
      assert.equal((await agent.stop()).code, 0);
      const recs = rx.records();
      assert.equal(recs.length, 500);
      assert.equal(
        new Set(recs.map((r) => (r.request as { correlation_id: string }).correlation_id)).size,
        500,
      );
      assert.equal(recs.reduce((n, r) => n + (r.events as number), 0), 1000);
      assert.deepEqual(rx.violations, []);
      assert.ok(rx.batches.every((b) => b.headers.get("x-source") === "e2e"));
      assert.ok(rx.batches.every((b) => b.headers.get("content-encoding") === "gzip"));
    },
  );

  await t.step("failures and an outage: nothing lost, nothing twice", async () => {
    await using rx = await startReceiver({ authorization: "Bearer tok-123", hmacSecret: SECRET });
    await using agent = await startAgent({
      config: sinkBlock(
        rx.url,
        `batch-size 50\n flush-interval-ms 100\n retry-max 1000\n retry-base-ms 50\n retry-cap-ms 500
        breaker-cooldown-ms 200\n breaker-max-cooldown-ms 500\n max-queue-records 100000`,
      ),
      env: ENV,
    });
    rx.faults.push({ status: 503, retryAfter: "1" }, { status: 500 }, { status: 429 }, {
      delayMs: 1500,
    });
    const c = await connectV2(agent.socketPath, { encodings: ["json"] });
    await sendLifecycles(c, "a", 300);
    await rx.stop();
    await sendLifecycles(c, "b", 300);
    await new Promise((r) => setTimeout(r, 1500));
    await rx.restart();
    await sendLifecycles(c, "c", 300);
    await waitCount(() => rx.records().length, 900, "records received");
    await c.close();
    assert.equal((await agent.stop()).code, 0);
    const cids = rx.records().map((r) => (r.request as { correlation_id: string }).correlation_id);
    assert.equal(cids.length, 900);
    assert.equal(new Set(cids).size, 900);
    assert.ok(rx.attempts.filter((a) => a.status !== 200).length >= 3);
    assert.ok(
      agent.logs().some((l) => /will retry|breaker/.test(String(l.msg))),
      "the outage is logged",
    );
    assert.deepEqual(rx.violations, []);
  });

  await t.step("a 4xx is not retried: the batch is dropped, logged and counted", async () => {
    await using rx = await startReceiver({ authorization: "Bearer tok-123", hmacSecret: SECRET });
    await using agent = await startAgent({
      config: sinkBlock(rx.url, "batch-size 10\n flush-interval-ms 100"),
      env: ENV,
    });
    rx.faults.push({ status: 422, body: "schema mismatch" });
    const c = await connectV2(agent.socketPath, { encodings: ["json"] });
    await sendLifecycles(c, "x", 10);
    await waitCount(() => rx.attempts.length, 1, "attempts");
    await sendLifecycles(c, "y", 10);
    await waitCount(() => rx.records().length, 10, "records received");
    const m = await agent.metrics();
    await c.close();
    await agent.stop();
    assert.equal(rx.attempts.filter((a) => a.status === 422).length, 1, "never retried");
    assert.equal(m.get('telemetry_sink_records_dropped_total{reason="fatal",sink="http"}'), 10);
    assert.ok(
      agent.logs().some((l) => /HTTP 422/.test(JSON.stringify(l))),
      "the drop is logged with the status",
    );
  });
});
