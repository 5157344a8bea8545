/**
 * End to end with a real Kafka broker: the agent as a process (exactly the permissions
 * src/permissions.ts derives), a proxy emulator on its socket, topics read back with kcat.
 * Covers exactly-once delivery in normal operation, batch-size / flush-interval, a filtered
 * fan-out sink, a broker outage mid-run (TELEMETRY_KAFKA_OUTAGE_MS, default 30000; the broker
 * process is really stopped), a wrong SASL password and a missing topic.
 */

import assert from "node:assert/strict";
import { AgentStartError, startAgent } from "../helpers/agent.ts";
import { connectV2, type V2Client } from "../helpers/proxy_client.ts";
import { requestHeadersEvent, responseHeadersEvent } from "../helpers/proxy_encode.ts";
import { KAFKA_USERS, type KafkaBroker, startKafka } from "../../scripts/services/kafka.ts";
import {
  createTopics,
  ensureKcat,
  type KcatMessage,
  readTopic,
  waitForMessages,
} from "../sinks/_kafka.ts";

const OUTAGE_MS = Number(Deno.env.get("TELEMETRY_KAFKA_OUTAGE_MS") ?? 30_000);

/** Send one lifecycle (request + response headers) and wait for both acks; returns the ack RTT. */
async function lifecycle(c: V2Client, cid: string, status: number): Promise<number> {
  const t0 = performance.now();
  await c.send("request_headers", requestHeadersEvent(cid));
  await c.answer(cid);
  const rtt = performance.now() - t0;
  await c.send("response_headers", responseHeadersEvent(cid, status));
  await c.answer(cid);
  return rtt;
}

/** Lifecycles `from`..`from+n-1`, pipelined 100 at a time (acks awaited per group). */
async function burst(c: V2Client, prefix: string, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i += 100) {
    const ids: string[] = [];
    for (let j = i; j < Math.min(from + n, i + 100); j++) {
      const cid = `${prefix}-${j}`;
      ids.push(cid);
      await c.send("request_headers", requestHeadersEvent(cid));
      await c.send("response_headers", responseHeadersEvent(cid, j % 10 === 0 ? 503 : 200));
    }
    for (const cid of ids) {
      await c.answer(cid);
      await c.answer(cid);
    }
  }
}

function correlationIds(messages: KcatMessage[]): string[] {
  return messages.map((m) => JSON.parse(m.payload!).request.correlation_id as string);
}

/** Count of each id; the test wants every id exactly once. */
function tally(ids: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

function metric(m: Map<string, number>, key: string): number {
  return m.get(key) ?? 0;
}

function p99(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
}

function kafkaBlock(kafka: KafkaBroker, lines: string[]): string {
  return `sink "kafka" {\n  brokers ["${kafka.bootstrap}"]\n  ${lines.join("\n  ")}\n}\n`;
}

Deno.test("kafka e2e: the agent with a real broker", async (t) => {
  await ensureKcat();
  await using kafka = await startKafka();
  await createTopics(kafka.bootstrap, ["e2e-all", "e2e-errors", "e2e-outage"], 3);

  await t.step(
    "every event reaches Kafka exactly once; batch-size and flush-interval hold",
    async () => {
      const config = kafkaBlock(kafka, [
        'topic "e2e-all"',
        "batch-size 50",
        "flush-interval-ms 300",
        "max-queue-records 100000",
      ]) + kafkaBlock(kafka, [
        'name "kafka-errors"',
        'topic "e2e-errors"',
        "only-errors true",
        "batch-size 1000",
        "flush-interval-ms 200",
      ]);
      await using agent = await startAgent({ config });
      const c = await connectV2(agent.socketPath, { encodings: ["json"] });
      const n = 2000;
      await burst(c, "e2e", 0, n);
      await waitForMessages(kafka.bootstrap, "e2e-all", n, 60_000);
      await assertExactlyOnce(kafka, "e2e-all", "e2e", n);
      const m1 = await agent.metrics();
      const batches = metric(m1, 'telemetry_sink_batches_sent_total{sink="kafka"}');
      const sent = metric(m1, 'telemetry_sink_records_sent_total{sink="kafka"}');
      assert.equal(sent, n);
      assert.ok(
        batches >= n / 50,
        `batch-size 50: ${n} records need >= ${n / 50} batches, got ${batches}`,
      );

      // Fewer records than batch-size are written once flush-interval passes, as one small batch.
      const t0 = performance.now();
      await burst(c, "tail", 0, 3);
      const tail = await waitForMessages(kafka.bootstrap, "e2e-all", n + 3, 20_000);
      const waited = performance.now() - t0;
      assert.equal(tail.length, n + 3, "the 3 tail records arrive without more traffic");
      const m2 = await agent.metrics();
      const more = metric(m2, 'telemetry_sink_batches_sent_total{sink="kafka"}') - batches;
      assert.ok(more >= 1 && more <= 3, `3 records in 1..3 interval batches, got ${more}`);
      assert.ok(waited >= 250, `flushed by the 300 ms interval, not at once (${waited} ms)`);

      // The filtered fan-out sink got exactly the 5xx lifecycles.
      const errors = await waitForMessages(kafka.bootstrap, "e2e-errors", n / 10 + 1, 30_000);
      const expected = [...Array.from({ length: n / 10 }, (_, i) => `e2e-${i * 10}`), "tail-0"]
        .sort();
      assert.deepEqual(correlationIds(errors).sort(), expected);
      assert.equal(
        metric(m2, 'telemetry_sink_records_filtered_total{sink="kafka-errors"}'),
        n + 3 - (n / 10 + 1),
      );
      c.close();
      assert.equal((await agent.stop()).code, 0);
      assert.equal(
        (await readTopic(kafka.bootstrap, "e2e-all")).length,
        n + 3,
        "no duplicate at exit",
      );
    },
  );

  await t.step(
    `broker down ${OUTAGE_MS / 1000} s mid-run: acks go on, every event arrives after`,
    async () => {
      await outage(kafka);
    },
  );

  await t.step("a wrong SASL password stops the agent at start with a clear error", async () => {
    const [user] = Object.keys(KAFKA_USERS);
    const config = `sink "kafka" {
  brokers ["${kafka.saslBootstrap}"]
  topic "e2e-all"
  sasl {
    mechanism "scram-sha-256"
    username "${user}"
    password-env "TELEMETRY_TEST_KAFKA_PASSWORD"
  }
}
`;
    const err = await startAgent({ config, env: { TELEMETRY_TEST_KAFKA_PASSWORD: "wrong" } })
      .then((a) => a.stop().then(() => null), (e: unknown) => e);
    assert.ok(err instanceof AgentStartError, `the agent must refuse to start: ${err}`);
    assert.notEqual(err.code, 0);
    assert.match(
      err.stderr,
      new RegExp(`authentication failed \\(user \\\\?"${user}\\\\?" with scram-sha-256\\)`),
    );
    // With the right password from the same variable it starts and writes.
    await using agent = await startAgent({
      config,
      env: { TELEMETRY_TEST_KAFKA_PASSWORD: KAFKA_USERS[user] },
    });
    const c = await connectV2(agent.socketPath, { encodings: ["json"] });
    await burst(c, "sasl", 0, 5);
    c.close();
    assert.equal((await agent.stop()).code, 0);
    const got = correlationIds(await readTopic(kafka.bootstrap, "e2e-all"));
    assert.equal(got.filter((id) => id.startsWith("sasl-")).length, 5);
  });

  await t.step(
    "a missing topic stops the agent at start, naming the topic and the fix",
    async () => {
      const config = kafkaBlock(kafka, ['topic "no-such-topic"']);
      const err = await startAgent({ config }).then(
        (a) => a.stop().then(() => null),
        (e: unknown) => e,
      );
      assert.ok(err instanceof AgentStartError, `the agent must refuse to start: ${err}`);
      assert.match(
        err.stderr,
        /topic no-such-topic does not exist and auto-create-topic is false; create the topic or set auto-create-topic true/,
      );
    },
  );
});

/** Every `prefix-i` (i < n) exactly once in `topic`, re-read a moment later to catch late copies. */
async function assertExactlyOnce(kafka: KafkaBroker, topic: string, prefix: string, n: number) {
  await new Promise((r) => setTimeout(r, 1000));
  const got = await readTopic(kafka.bootstrap, topic);
  const counts = tally(correlationIds(got).filter((id) => id.startsWith(`${prefix}-`)));
  assert.equal(counts.size, n, "every lifecycle is in the topic");
  const dupes = [...counts].filter(([, k]) => k !== 1);
  assert.deepEqual(dupes, [], "no lifecycle twice");
  for (const m of got) {
    assert.equal(m.headers["schema-version"], "1");
    assert.equal(m.headers["event-id"], JSON.parse(m.payload!).event_id);
    assert.equal(m.key, m.headers["event-id"]);
  }
}

/** Lifecycles at a steady pace before, during and after a real broker outage. */
async function outage(kafka: KafkaBroker): Promise<void> {
  const config = kafkaBlock(kafka, [
    'topic "e2e-outage"',
    "batch-size 100",
    "flush-interval-ms 200",
    "max-queue-records 200000",
    "breaker-cooldown-ms 500",
    "breaker-max-cooldown-ms 2000",
    "connect-timeout-ms 1000",
  ]);
  await using agent = await startAgent({ config });
  const c = await connectV2(agent.socketPath, { encodings: ["json"] });
  let seq = 0;
  const pace = async (ms: number, rtts: number[]) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const t0 = performance.now();
      for (let k = 0; k < 5; k++) rtts.push(await lifecycle(c, `out-${seq++}`, 200));
      await new Promise((r) => setTimeout(r, Math.max(0, 50 - (performance.now() - t0))));
    }
  };
  const up: number[] = [];
  const down: number[] = [];
  await pace(3000, up);
  await kafka.stopBroker();
  await pace(OUTAGE_MS, down);
  const m = await agent.metrics();
  assert.ok(metric(m, 'telemetry_sink_breaker_opens_total{sink="kafka"}') >= 1, "breaker opened");
  await kafka.startBroker();
  await pace(3000, up);
  const total = seq;
  const got = await waitForMessages(kafka.bootstrap, "e2e-outage", total, 90_000);
  const counts = tally(correlationIds(got));
  const missing = Array.from({ length: total }, (_, i) => `out-${i}`).filter((id) =>
    !counts.has(id)
  );
  assert.deepEqual(missing, [], "every lifecycle sent before, during and after is delivered");
  const duplicates = got.length - counts.size;
  const after = await agent.metrics();
  const dropped = [...after].filter(([k, v]) =>
    k.startsWith("telemetry_sink_records_dropped_total") && v > 0
  );
  assert.deepEqual(dropped, [], "nothing dropped");
  c.close();
  assert.equal((await agent.stop()).code, 0);
  const logs = agent.logs();
  assert.ok(
    logs.some((l) => String(l.msg).includes("circuit breaker open")),
    "breaker open logged",
  );
  assert.ok(logs.some((l) => String(l.msg).includes("circuit breaker closed")), "recovery logged");
  assert.deepEqual(logs.filter((l) => "raw" in l), [], "stderr holds only JSON log lines");
  const report = {
    lifecycles: total,
    delivered_distinct: counts.size,
    duplicates,
    outage_ms: OUTAGE_MS,
    ack_p99_ms_sink_up: Number(p99(up).toFixed(2)),
    ack_p99_ms_sink_down: Number(p99(down).toFixed(2)),
    breaker_opens: metric(after, 'telemetry_sink_breaker_opens_total{sink="kafka"}'),
    send_failures: metric(
      after,
      'telemetry_sink_send_failures_total{code="sink_unavailable",sink="kafka"}',
    ),
  };
  console.log(`kafka outage: ${JSON.stringify(report)}`);
  // Generous: the ack path must not wait on the sink (a blocked ack would take seconds).
  assert.ok(report.ack_p99_ms_sink_down < 500, JSON.stringify(report));
}
