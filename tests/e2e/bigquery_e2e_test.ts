/**
 * The agent process fed over its socket, streaming into BigQuery's documented insertAll
 * contract as enforced by tests/helpers/bigquery_contract_server.ts (no BigQuery can run here;
 * the open-source emulator is refused by the Go module proxy): every event stored exactly once
 * (the server's received rows, de-duplicated by insertId like BigQuery) through 5xx, quota
 * errors, partial row failures, a token revocation and an outage; refused rows dead-lettered.
 */

import assert from "node:assert/strict";
import { bigQuerySchema } from "../../src/sinks/bigquery/schema.ts";
import { startAgent } from "../helpers/agent.ts";
import {
  type BigQueryContractServer,
  makeServiceAccountKey,
  startBigQueryContractServer,
} from "../helpers/bigquery_contract_server.ts";
import { sendLifecycles, waitCount } from "../helpers/lifecycles.ts";
import { connectV2 } from "../helpers/proxy_client.ts";

const TABLE = { project: "test-project", dataset: "edge", table: "requests" };

async function setup(): Promise<{ server: BigQueryContractServer; dir: string; keyFile: string }> {
  const server = await startBigQueryContractServer({ ...TABLE, schema: bigQuerySchema() });
  const key = await makeServiceAccountKey(server.tokenUrl);
  server.trust(key);
  const dir = await Deno.makeTempDir({ prefix: "telemetry-bq-e2e-" });
  const keyFile = `${dir}/key.json`;
  await Deno.writeTextFile(keyFile, JSON.stringify(key.json));
  return { server, dir, keyFile };
}

function sinkBlock(server: BigQueryContractServer, keyFile: string, extra = ""): string {
  return `sink "bigquery" {
    project "${TABLE.project}"
    dataset "${TABLE.dataset}"
    table "${TABLE.table}"
    credentials-file "${keyFile}"
    endpoint "${server.url}"
    token-url "${server.tokenUrl}"
    timeout-ms 1000
    ${extra}
}`;
}

function cids(server: BigQueryContractServer): string[] {
  return server.rows.map((r) => (r.json.request as { correlation_id: string }).correlation_id);
}

Deno.test("e2e: agent → BigQuery insertAll contract", async (t) => {
  const { server, dir, keyFile } = await setup();
  try {
    await t.step("every event is stored exactly once, each row valid for the table", async () => {
      await using agent = await startAgent({
        config: sinkBlock(server, keyFile, "batch-size 100\n flush-interval-ms 200"),
      });
      const c = await connectV2(agent.socketPath, { encodings: ["json"] });
      await sendLifecycles(c, "q", 500);
      await waitCount(() => server.rows.length, 500, "rows stored");
      await c.close();
      assert.equal((await agent.stop()).code, 0);
      assert.equal(new Set(cids(server)).size, 500);
      assert.equal(server.rows.reduce((n, r) => n + (r.json.events as number), 0), 1000);
      assert.ok(server.rows.every((r) => r.insertId === r.json.event_id));
      const row = server.rows.find((r) =>
        (r.json.request as Record<string, unknown>).correlation_id === "q7"
      )!.json;
      assert.equal(row.timestamp, "2026-03-01T12:00:00.123Z");
      assert.equal((row.response as Record<string, unknown>).status, 200);
      assert.equal(server.tokensIssued, 1);
      assert.deepEqual(server.violations, []);
    });

    await t.step(
      "failures, partial rows, a revoked token and an outage: nothing lost or doubled",
      async () => {
        server.rows.length = 0;
        await using agent = await startAgent({
          config: sinkBlock(
            server,
            keyFile,
            `batch-size 50\n flush-interval-ms 100\n max-rows-per-request 20\n retry-max 1000\n retry-base-ms 50
          retry-cap-ms 500\n breaker-cooldown-ms 200\n breaker-max-cooldown-ms 500\n max-queue-records 100000`,
          ),
        });
        server.faults.push(
          { status: 503, reason: "backendError", retryAfter: "1" },
          { rowErrors: { positions: [0, 7, 19], reason: "backendError" } },
          { status: 403, reason: "quotaExceeded" },
          { rowErrors: { positions: [3], reason: "stopped" } },
          { delayMs: 1500 },
        );
        const c = await connectV2(agent.socketPath, { encodings: ["json"] });
        await sendLifecycles(c, "a", 300);
        server.revokeTokens();
        await server.stop();
        await sendLifecycles(c, "b", 300);
        await new Promise((r) => setTimeout(r, 1500));
        await server.restart();
        await sendLifecycles(c, "c", 300);
        await waitCount(() => server.rows.length, 900, "rows stored");
        await c.close();
        assert.equal((await agent.stop()).code, 0);
        assert.equal(server.rows.length, 900);
        assert.equal(new Set(cids(server)).size, 900);
        assert.ok(server.tokensIssued >= 2, "a new token after the revocation");
        assert.deepEqual(server.violations, []);
      },
    );

    await t.step(
      "rows BigQuery refuses go to the dead-letter file; the rest are stored",
      async () => {
        server.rows.length = 0;
        const dlq = `${dir}/dead`;
        await using agent = await startAgent({
          config: sinkBlock(
            server,
            keyFile,
            `batch-size 20\n flush-interval-ms 100\n dead-letter-directory "${dlq}"`,
          ),
        });
        server.faults.push({ rowErrors: { positions: [4, 5], reason: "invalid" } });
        const c = await connectV2(agent.socketPath, { encodings: ["json"] });
        await sendLifecycles(c, "d", 40);
        await waitCount(() => server.rows.length, 38, "rows stored");
        await c.close();
        assert.equal((await agent.stop()).code, 0);
        const dead = (await Deno.readTextFile(`${dlq}/bigquery.dead-letter.ndjson`)).trim().split(
          "\n",
        )
          .map((l) => JSON.parse(l));
        assert.equal(dead.length, 2);
        const all = new Set([...cids(server), ...dead.map((d) => d.record.request.correlation_id)]);
        assert.equal(all.size, 40, "every event stored or dead-lettered, none lost");
        assert.deepEqual(dead[0].reasons, ["invalid"]);
      },
    );
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
