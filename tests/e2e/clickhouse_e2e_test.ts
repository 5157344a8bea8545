/**
 * The agent process fed over its socket, writing to a real ClickHouse (Debian's 18.16, started
 * by the test on free ports): every event stored exactly once (checked with clickhouse-client),
 * batch-size and flush-interval semantics (from the server's own query_log), a restart
 * mid-run, a wrong password and a missing table; and a small benchmark (events/s into
 * ClickHouse, ack p99 while ClickHouse is down versus up) printed as one JSON line.
 */

import assert from "node:assert/strict";
import {
  type ClickHouseServer,
  startClickHouse,
  WRITER_PASSWORD,
} from "../../scripts/services/clickhouse.ts";
import { AgentStartError, startAgent } from "../helpers/agent.ts";
import { connectV2 } from "../helpers/proxy_client.ts";
import { sendLifecycles } from "../helpers/lifecycles.ts";
import { requestHeadersEvent, responseHeadersEvent } from "../helpers/proxy_encode.ts";

function sinkBlock(ch: ClickHouseServer, opts: string): string {
  return `sink "clickhouse" {
    url "${ch.url}"
    username "writer"
    password "${WRITER_PASSWORD}"
    ${opts}
}`;
}

async function waitRows(ch: ClickHouseServer, sql: string, want: number, limitMs = 20_000) {
  const t0 = performance.now();
  for (;;) {
    const got = Number((await ch.query(sql)).trim() || 0);
    if (got >= want) return { got, ms: performance.now() - t0 };
    if (performance.now() - t0 > limitMs) throw new Error(`${sql}: ${got} rows, want ${want}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Rows per INSERT the sink made into `table`, from the server's query_log, in order. */
/** Rows per INSERT into `table`, largest first: query_log times have one-second resolution in
 * this ClickHouse, so inserts within one second have no reliable order. */
async function insertSizes(ch: ClickHouseServer, table: string): Promise<number[]> {
  await ch.query("SYSTEM FLUSH LOGS");
  const rows = await ch.rows<{ written_rows: string }>(
    `SELECT written_rows FROM system.query_log WHERE type = 2 AND user = 'writer' ` +
      `AND query LIKE 'INSERT INTO %${table}%'`,
  );
  return rows.map((r) => Number(r.written_rows)).sort((a, b) => b - a);
}

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
}

Deno.test("e2e: agent → ClickHouse 18.16", async (t) => {
  await using ch = await startClickHouse();

  await t.step("every event lands exactly once; batches cut at batch-size", async () => {
    await using agent = await startAgent({
      config: sinkBlock(
        ch,
        `database "e1"\n table "req"\n create-table true
        batch-size 50\n flush-interval-ms 60000`,
      ),
    });
    const c = await connectV2(agent.socketPath, { encodings: ["json"] });
    await sendLifecycles(c, "a", 120);
    await waitRows(ch, "SELECT count() FROM e1.req", 100);
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(
      (await ch.query("SELECT count() FROM e1.req")).trim(),
      "100",
      "20 wait for the interval",
    );
    await c.close();
    assert.equal((await agent.stop()).code, 0);
    const [s] = await ch.rows<Record<string, string | number>>(
      `SELECT count() AS n, uniqExact(request_correlation_id) AS cids, uniqExact(event_id) AS ids,
        sum(events) AS events, countIf(response_status = 503) AS errors, sum(labels_is_error) AS labelled
       FROM e1.req`,
    );
    assert.deepEqual(s, {
      n: "120",
      cids: "120",
      ids: "120",
      events: "240",
      errors: "12",
      labelled: "12",
    });
    const [row] = await ch.rows<Record<string, unknown>>(
      `SELECT timestamp, timestamp_ms, request_method, request_host, request_path, request_query,
        request_query_keys, response_status, response_status_class, client_ip, client_port,
        client_ip_version, sentinel_route_id, sentinel_upstream_id, protocol_version, partial,
        request_headers.value[indexOf(request_headers.name, 'user-agent')] AS ua,
        response_headers.value[indexOf(response_headers.name, 'content-type')] AS ct
       FROM e1.req WHERE request_correlation_id = 'a7'`,
    );
    assert.deepEqual(row, {
      timestamp: "2026-03-01 12:00:00",
      timestamp_ms: 123,
      request_method: "GET",
      request_host: "example.com",
      request_path: "/api/v1/users/42",
      request_query: "expand=true",
      request_query_keys: ["expand"],
      response_status: 200,
      response_status_class: "2xx",
      client_ip: "203.0.113.7",
      client_port: 51234,
      client_ip_version: 4,
      sentinel_route_id: "api",
      sentinel_upstream_id: "backend-1",
      protocol_version: 2,
      partial: 0,
      ua: "curl/8.5.0",
      ct: "application/json",
    });
    assert.deepEqual(await insertSizes(ch, "e1"), [50, 50, 20]);
  });

  await t.step("a partial batch is written once flush-interval-ms has passed", async () => {
    await using agent = await startAgent({
      config: sinkBlock(
        ch,
        `database "e2"\n table "req"\n create-table true
        batch-size 1000\n flush-interval-ms 400`,
      ),
    });
    const c = await connectV2(agent.socketPath, { encodings: ["json"] });
    const t0 = performance.now();
    await sendLifecycles(c, "f", 10);
    const { ms } = await waitRows(ch, "SELECT count() FROM e2.req", 10);
    const sinceFirst = performance.now() - t0;
    assert.ok(sinceFirst >= 350, `rows appeared after ${sinceFirst} ms, before the interval`);
    assert.ok(ms < 3000, `rows took ${ms} ms`);
    assert.deepEqual(await insertSizes(ch, "e2"), [10]);
    await c.close();
    assert.equal((await agent.stop()).code, 0);
  });

  await t.step(
    "ClickHouse restarted mid-run: every event is delivered once after recovery",
    async () => {
      await using agent = await startAgent({
        config: sinkBlock(
          ch,
          `database "e3"\n table "req"\n create-table true
        batch-size 20\n flush-interval-ms 100\n retry-max 1000\n retry-cap-ms 500
        breaker-cooldown-ms 200\n breaker-max-cooldown-ms 500\n max-queue-records 100000`,
        ),
      });
      const c = await connectV2(agent.socketPath, { encodings: ["json"] });
      await sendLifecycles(c, "r", 300);
      const restart = (async () => {
        await ch.stopServer();
        await new Promise((r) => setTimeout(r, 1000));
        await ch.startServer();
      })();
      await sendLifecycles(c, "s", 300, 20);
      await restart;
      await sendLifecycles(c, "t", 300);
      await waitRows(ch, "SELECT count() FROM e3.req", 900, 30_000);
      await c.close();
      assert.equal((await agent.stop()).code, 0);
      const [s] = await ch.rows<Record<string, string>>(
        "SELECT count() AS n, uniqExact(request_correlation_id) AS cids, sum(events) AS events FROM e3.req",
      );
      assert.deepEqual(s, { n: "900", cids: "900", events: "1800" });
      const logs = agent.logs();
      assert.ok(
        logs.some((l) =>
          String(l.msg).includes("will retry") || String(l.msg).includes("breaker open")
        ),
        "the outage shows in the log",
      );
    },
  );

  await t.step("a wrong password stops the agent at start with a clear log line", async () => {
    const config = sinkBlock(ch, `database "e1"\n table "req"`).replace(WRITER_PASSWORD, "wrong");
    await assert.rejects(startAgent({ config }), (e: unknown) => {
      assert.ok(e instanceof AgentStartError, String(e));
      assert.match(e.stderr, /Wrong password for user writer/);
      assert.match(e.stderr, /check username and password/);
      return true;
    });
  });

  await t.step("a missing table stops the agent at start, naming the fix", async () => {
    await assert.rejects(
      startAgent({ config: sinkBlock(ch, `database "e1"\n table "nope"`) }),
      (e: unknown) => {
        assert.ok(e instanceof AgentStartError, String(e));
        assert.match(
          e.stderr,
          /e1\.nope does not exist: create it with `main\.ts schema --clickhouse/,
        );
        return true;
      },
    );
  });

  await t.step(
    "benchmark: events/s into ClickHouse; ack p99 with ClickHouse down vs up",
    async () => {
      await using agent = await startAgent({
        config: sinkBlock(
          ch,
          `database "bench"\n table "req"\n create-table true
        batch-size 1000\n flush-interval-ms 200\n retry-max 1000\n max-queue-records 200000`,
        ),
      });
      const c = await connectV2(agent.socketPath, { encodings: ["json"] });
      const n = 10_000;
      const t0 = performance.now();
      await sendLifecycles(c, "b", n, 500);
      await waitRows(ch, "SELECT count() FROM bench.req", n, 60_000);
      const eventsPerSec = Math.round((2 * n) / ((performance.now() - t0) / 1000));
      const ackLatencies = async (prefix: string, k: number) => {
        const out: number[] = [];
        for (let i = 0; i < k; i++) {
          const cid = `${prefix}${i}`;
          let t1 = performance.now();
          await c.send("request_headers", requestHeadersEvent(cid));
          await c.answer(cid);
          out.push(performance.now() - t1);
          t1 = performance.now();
          await c.send("response_headers", responseHeadersEvent(cid));
          await c.answer(cid);
          out.push(performance.now() - t1);
        }
        return out;
      };
      const up = await ackLatencies("u", 1000);
      await ch.stopServer();
      let down: number[];
      try {
        down = await ackLatencies("d", 1000);
      } finally {
        await ch.startServer();
      }
      await waitRows(ch, "SELECT count() FROM bench.req", n + 2000, 30_000);
      await c.close();
      assert.equal((await agent.stop()).code, 0);
      const result = {
        events: 2 * n,
        events_per_s_into_clickhouse: eventsPerSec,
        ack_p99_ms_clickhouse_up: Number(p99(up).toFixed(3)),
        ack_p99_ms_clickhouse_down: Number(p99(down).toFixed(3)),
      };
      console.log(`clickhouse benchmark ${JSON.stringify(result)}`);
      assert.ok(
        result.ack_p99_ms_clickhouse_down < Math.max(5, 3 * result.ack_p99_ms_clickhouse_up),
        JSON.stringify(result),
      );
    },
  );
});
