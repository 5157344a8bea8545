/**
 * The agent process fed over its socket, writing to a real S3-compatible server (SeaweedFS,
 * built from the Go module proxy and started by the test), objects read back with boto3 (and
 * pyarrow for Parquet): every event exactly once in the union of objects, in Hive partitions,
 * with keys from the batch ids, through an outage and connections cut mid-upload (a TCP proxy
 * between agent and server; a real SeaweedFS restart takes ~30 s before it stores again).
 * Credentials reach the agent through the standard AWS_* environment variables.
 */

import assert from "node:assert/strict";
import { S3_ACCESS_KEY, S3_SECRET_KEY, startSeaweed } from "../../scripts/services/seaweedfs.ts";
import { startAgent } from "../helpers/agent.ts";
import { startFaultProxy } from "../helpers/fault_proxy.ts";
import { sendLifecycles } from "../helpers/lifecycles.ts";
import { connectV2 } from "../helpers/proxy_client.ts";
import { createS3Bucket, readS3Objects, type S3ObjectView } from "../helpers/python_tools.ts";

const KEYS = { accessKey: S3_ACCESS_KEY, secretKey: S3_SECRET_KEY };
const BUCKET = "telemetry-e2e";
const ENV = { AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY };

function sinkBlock(endpoint: string, extra: string): string {
  return `sink "s3" {
    bucket "${BUCKET}"
    endpoint "${endpoint}"
    path-style true
    timeout-ms 2000
    ${extra}
}`;
}

function correlationIds(objects: S3ObjectView[]): string[] {
  return objects.flatMap((o) =>
    o.records.map((r) => (r.request as { correlation_id: string }).correlation_id)
  );
}

Deno.test("e2e: agent → S3 (SeaweedFS)", async (t) => {
  await using server = await startSeaweed();
  await createS3Bucket(server.endpoint, BUCKET, KEYS);

  await t.step(
    "NDJSON+gzip: every event once, in dt=/hour= partitions named by batch id",
    async () => {
      await using agent = await startAgent({
        config: sinkBlock(server.endpoint, `prefix "gz/"\n batch-size 200\n flush-interval-ms 200`),
        env: ENV,
      });
      const c = await connectV2(agent.socketPath, { encodings: ["json"] });
      await sendLifecycles(c, "g", 500);
      await c.close();
      assert.equal((await agent.stop()).code, 0);
      const objects = await readS3Objects(server.endpoint, BUCKET, "gz/", KEYS);
      for (const o of objects) {
        assert.match(o.key, /^gz\/dt=2026-03-01\/hour=12\/[0-9a-f-]{36}\.ndjson\.gz$/);
        assert.equal(o.metadata["telemetry-batch-id"], o.key.split("/").pop()!.slice(0, 36));
      }
      const ids = correlationIds(objects);
      assert.equal(ids.length, 500);
      assert.equal(new Set(ids).size, 500);
      assert.equal(
        objects.reduce((n, o) => n + o.records.reduce((m, r) => m + (r.events as number), 0), 0),
        1000,
      );
    },
  );

  await t.step("Parquet: every event once, read back by pyarrow", async () => {
    await using agent = await startAgent({
      config: sinkBlock(
        server.endpoint,
        `prefix "pq/"\n format "parquet"\n batch-size 250\n flush-interval-ms 200`,
      ),
      env: ENV,
    });
    const c = await connectV2(agent.socketPath, { encodings: ["json"] });
    await sendLifecycles(c, "p", 500);
    await c.close();
    assert.equal((await agent.stop()).code, 0);
    const objects = await readS3Objects(server.endpoint, BUCKET, "pq/", KEYS);
    assert.ok(objects.every((o) => o.key.endsWith(".parquet")));
    const ids = correlationIds(objects);
    assert.equal(new Set(ids).size, 500);
    assert.equal(ids.length, 500);
    const row = objects[0].records[0];
    assert.equal(row.timestamp, "2026-03-01T12:00:00.123Z");
  });

  await t.step("an outage and cut uploads: nothing lost, nothing twice", async () => {
    using proxy = startFaultProxy({
      hostname: "127.0.0.1",
      port: Number(new URL(server.endpoint).port),
    });
    await using agent = await startAgent({
      config: sinkBlock(
        proxy.url,
        `prefix "outage/"\n batch-size 50\n flush-interval-ms 100\n retry-max 1000\n retry-base-ms 50
        retry-cap-ms 500\n breaker-cooldown-ms 200\n breaker-max-cooldown-ms 500\n max-queue-records 100000`,
      ),
      env: ENV,
    });
    const c = await connectV2(agent.socketPath, { encodings: ["json"] });
    await sendLifecycles(c, "a", 300);
    proxy.down();
    await sendLifecycles(c, "b", 300);
    await new Promise((r) => setTimeout(r, 2000));
    proxy.up();
    proxy.resetNext(3);
    await sendLifecycles(c, "c", 300);
    await c.close();
    assert.equal((await agent.stop()).code, 0);
    const ids = correlationIds(await readS3Objects(server.endpoint, BUCKET, "outage/", KEYS));
    assert.equal(ids.length, 900, "no event lost or written twice");
    assert.equal(new Set(ids).size, 900);
    assert.ok(
      agent.logs().some((l) => /will retry|breaker/.test(String(l.msg))),
      "the outage is logged",
    );
  });
});
