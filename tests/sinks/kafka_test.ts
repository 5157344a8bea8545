/**
 * The Kafka sink against a real single-node broker (scripts/services/kafka.ts), every result
 * read back with kcat. Option parsing is tested without a broker.
 */

import assert from "node:assert/strict";
import type { SinkConfig } from "../../src/config/types.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { type Sink, SinkError } from "../../src/sinks/contract.ts";
import { createKafkaSink, parseKafkaSinkOptions } from "../../src/sinks/kafka/mod.ts";
import { createSink } from "../../src/sinks/registry.ts";
import { SinkRunner } from "../../src/sinks/runner.ts";
import { KAFKA_USERS, type KafkaBroker, startKafka } from "../../scripts/services/kafka.ts";
import { captureLog, makeRecord, waitFor } from "./_helpers.ts";
import { createTopics, ensureKcat, readTopic } from "./_kafka.ts";

function kafkaConfig(options: Record<string, unknown>, name = "kafka"): SinkConfig {
  return { name, type: "kafka", batchSize: 100, flushIntervalMs: 100, options };
}

function records(from: number, n: number): TelemetryRecord[] {
  return Array.from({ length: n }, (_, i) => makeRecord(from + i));
}

async function withSink<T>(cfg: SinkConfig, fn: (sink: Sink) => Promise<T>): Promise<T> {
  const sink = createKafkaSink(cfg, captureLog());
  await sink.open();
  try {
    return await fn(sink);
  } finally {
    await sink.close();
  }
}

function assertFatal(err: unknown, pattern: RegExp): true {
  assert.ok(err instanceof SinkError, `expected a SinkError, got ${err}`);
  assert.equal(err.retryable, false, err.message);
  assert.match(err.message, pattern);
  return true;
}

Deno.test("parseKafkaSinkOptions() fills the documented defaults", () => {
  const o = parseKafkaSinkOptions("k", { brokers: ["a:9092"], topic: "t" });
  assert.deepEqual(
    {
      keyField: o.keyField,
      compression: o.compression,
      acks: o.acks,
      idempotent: o.idempotent,
      clientId: o.clientId,
      partitioner: o.partitioner,
      autoCreateTopic: o.autoCreateTopic,
    },
    {
      keyField: "event_id",
      compression: "none",
      acks: "all",
      idempotent: true,
      clientId: "telemetry-agent",
      partitioner: "murmur2",
      autoCreateTopic: false,
    },
  );
});

Deno.test("parseKafkaSinkOptions() names the sink and every bad key at once", () => {
  assert.throws(
    () =>
      parseKafkaSinkOptions("events", {
        brokers: ["no-port"],
        topic: "bad topic",
        compression: "brotli",
        acks: "leader",
        "key-field": "a..b",
        sasl: { mechanism: "gssapi", username: "u" },
        colour: "blue",
      }),
    (err: unknown) => {
      assert.ok(err instanceof SinkError);
      assert.equal(err.code, "sink_config");
      assert.equal(err.retryable, false);
      const m = err.message;
      assert.match(m, /^kafka sink events: /);
      for (
        const part of [
          "unknown option `colour`",
          "`brokers` must be",
          '`topic` "bad topic" may only use',
          '`compression` must be one of "none", "gzip", "snappy", "lz4", "zstd", got "brotli"',
          "`key-field` must be",
          "`sasl.mechanism` must be one of",
          "`sasl` needs exactly one of `password` or `password-env`",
          '`idempotent true` needs `acks "all"`',
        ]
      ) assert.ok(m.includes(part), `missing ${part} in: ${m}`);
      return true;
    },
  );
});

Deno.test("parseKafkaSinkOptions() reads the SASL password from password-env", () => {
  const env = (name: string) => (name === "KAFKA_PW" ? "s3cret" : undefined);
  const o = parseKafkaSinkOptions("k", {
    brokers: ["a:9092"],
    topic: "t",
    sasl: { mechanism: "scram-sha-512", username: "u", "password-env": "KAFKA_PW" },
  }, env);
  assert.deepEqual(o.sasl, {
    mechanism: "scram-sha-512",
    username: "u",
    password: "s3cret",
    passwordEnv: "KAFKA_PW",
  });
  assert.throws(
    () =>
      parseKafkaSinkOptions("k", {
        brokers: ["a:9092"],
        topic: "t",
        sasl: { username: "u", "password-env": "UNSET_VAR" },
      }, env),
    /environment variable UNSET_VAR is not set/,
  );
});

Deno.test("createSink() hands runner keys to the runner, not to the kafka parser", () => {
  const sink = createSink(
    kafkaConfig({ brokers: ["a:9092"], topic: "t", "only-threats": true, "max-in-flight": 2 }),
    captureLog(),
  );
  assert.equal(sink.name, "kafka");
});

Deno.test("kafka sink against a real broker", async (t) => {
  await ensureKcat();
  await using kafka = await startKafka();
  await createTopics(kafka.bootstrap, ["events", "events-3p"], 1);
  await createTopics(kafka.bootstrap, ["routed-api", "routed-unknown"], 1);

  await t.step("write() delivers every record once with key, headers and JSON value", async () => {
    const batch = { id: "01900000-0000-7000-8000-000000000001", records: records(0, 250) };
    const bytes = await withSink(
      kafkaConfig({ brokers: [kafka.bootstrap], topic: "events" }),
      (sink) => sink.write(batch),
    );
    const got = await readTopic(kafka.bootstrap, "events");
    assert.equal(got.length, 250);
    assert.ok(typeof bytes === "number" && bytes > 250 * 100, `bytes ${bytes}`);
    got.forEach((m, i) => {
      const rec = batch.records[i];
      assert.deepEqual(JSON.parse(m.payload!), rec);
      assert.equal(m.key, rec.event_id);
      assert.deepEqual(m.headers, {
        "schema-version": "1",
        "event-id": rec.event_id,
        "content-type": "application/json",
      });
    });
  });

  await t.step("write() of a batch id already written sends nothing", async () => {
    await createTopics(kafka.bootstrap, ["dedupe"]);
    const batch = { id: "01900000-0000-7000-8000-000000000002", records: records(0, 10) };
    await withSink(kafkaConfig({ brokers: [kafka.bootstrap], topic: "dedupe" }), async (sink) => {
      await sink.write(batch);
      assert.equal(await sink.write(batch), 0);
    });
    assert.equal((await readTopic(kafka.bootstrap, "dedupe")).length, 10);
  });

  for (const compression of ["gzip", "snappy", "lz4", "zstd"]) {
    await t.step(`compression ${compression}: kcat decodes every record`, async () => {
      const topic = `codec-${compression}`;
      await createTopics(kafka.bootstrap, [topic]);
      const batch = { id: crypto.randomUUID(), records: records(1000, 300) };
      await withSink(
        kafkaConfig({ brokers: [kafka.bootstrap], topic, compression }),
        (sink) => sink.write(batch),
      );
      const got = await readTopic(kafka.bootstrap, topic);
      assert.deepEqual(
        got.map((m) => JSON.parse(m.payload!).event_id),
        batch.records.map((r) => r.event_id),
      );
    });
  }

  await t.step(
    "a templated topic routes by record field; a missing field goes to -unknown",
    async () => {
      const recs = records(0, 6).map((r, i) =>
        i % 2 === 0 ? { ...r, sentinel: { route_id: "api" } } : r
      );
      await withSink(
        kafkaConfig({ brokers: [kafka.bootstrap], topic: "routed-{sentinel.route_id}" }),
        (sink) => sink.write({ id: crypto.randomUUID(), records: recs }),
      );
      assert.equal((await readTopic(kafka.bootstrap, "routed-api")).length, 3);
      assert.equal((await readTopic(kafka.bootstrap, "routed-unknown")).length, 3);
    },
  );

  await t.step("key-field picks the message key; none sends no key", async () => {
    await createTopics(kafka.bootstrap, ["keys-a", "keys-b"]);
    await withSink(
      kafkaConfig({ brokers: [kafka.bootstrap], topic: "keys-a", "key-field": "request.path" }),
      (sink) => sink.write({ id: crypto.randomUUID(), records: records(7, 1) }),
    );
    await withSink(
      kafkaConfig({ brokers: [kafka.bootstrap], topic: "keys-b", "key-field": "none" }),
      (sink) => sink.write({ id: crypto.randomUUID(), records: records(7, 1) }),
    );
    assert.equal((await readTopic(kafka.bootstrap, "keys-a"))[0].key, "/items/7");
    assert.equal((await readTopic(kafka.bootstrap, "keys-b"))[0].key, null);
  });

  await t.step("a missing static topic with auto-create off fails open() as fatal", async () => {
    const sink = createKafkaSink(
      kafkaConfig({ brokers: [kafka.bootstrap], topic: "no-such-topic" }),
      captureLog(),
    );
    await assert.rejects(
      () => sink.open(),
      (e) => assertFatal(e, /topic no-such-topic does not exist and auto-create-topic is false/),
    );
  });

  await t.step("a missing templated topic fails write() as fatal", async () => {
    await withSink(
      kafkaConfig({ brokers: [kafka.bootstrap], topic: "nothing-{request.method}" }),
      async (sink) => {
        await assert.rejects(
          () => sink.write({ id: crypto.randomUUID(), records: records(0, 2) }),
          (e) => assertFatal(e, /does not exist and auto-create-topic is false/),
        );
      },
    );
  });

  await t.step("auto-create-topic true: a missing topic is retryable, not fatal", async () => {
    // The test broker has auto.create.topics.enable=false, so the topic never appears; with
    // auto-create on, the sink must treat that as something a retry may fix.
    const sink = createKafkaSink(
      kafkaConfig({ brokers: [kafka.bootstrap], topic: "auto-made", "auto-create-topic": true }),
      captureLog(),
    );
    await sink.open();
    try {
      await assert.rejects(
        () => sink.write({ id: crypto.randomUUID(), records: records(0, 1) }),
        (e) => {
          assert.ok(e instanceof SinkError && e.retryable, `must be retryable: ${e}`);
          assert.equal(e.code, "sink_unavailable");
          return true;
        },
      );
    } finally {
      await sink.close();
    }
  });

  for (const mechanism of ["plain", "scram-sha-256", "scram-sha-512"]) {
    await t.step(`SASL ${mechanism}: right password writes, wrong password is fatal`, async () => {
      const topic = `sasl-${mechanism}`;
      await createTopics(kafka.bootstrap, [topic]);
      const [user, password] = Object.entries(KAFKA_USERS)[0];
      const opts = (pw: string) => ({
        brokers: [kafka.saslBootstrap],
        topic,
        sasl: { mechanism, username: user, password: pw },
      });
      await withSink(
        kafkaConfig(opts(password)),
        (sink) => sink.write({ id: crypto.randomUUID(), records: records(0, 3) }),
      );
      assert.equal((await readTopic(kafka.bootstrap, topic)).length, 3);
      const bad = createKafkaSink(kafkaConfig(opts("wrong-password")), captureLog());
      await assert.rejects(
        () => bad.open(),
        (e) =>
          assertFatal(
            e,
            new RegExp(`authentication failed \\(user "${user}" with ${mechanism}\\)`),
          ),
      );
      await bad.close();
    });
  }

  await t.step(
    "TLS with the broker's CA writes; an unreadable ca-file is a config error",
    async () => {
      await createTopics(kafka.bootstrap, ["tls-events"]);
      await withSink(
        kafkaConfig({
          brokers: [kafka.sslBootstrap],
          topic: "tls-events",
          tls: { "ca-file": kafka.caFile },
        }),
        (sink) => sink.write({ id: crypto.randomUUID(), records: records(0, 4) }),
      );
      assert.equal((await readTopic(kafka.bootstrap, "tls-events")).length, 4);
      const sink = createKafkaSink(
        kafkaConfig({
          brokers: [kafka.sslBootstrap],
          topic: "t",
          tls: { "ca-file": "/nonexistent.pem" },
        }),
        captureLog(),
      );
      await assert.rejects(() => sink.open(), (e) => {
        assert.ok(e instanceof SinkError && e.code === "sink_config");
        assert.match(e.message, /cannot read tls.ca-file \/nonexistent.pem/);
        return true;
      });
    },
  );

  await t.step(
    "broker down: write() fails retryable; after restart the same sink writes again",
    async () => {
      await brokerOutage(kafka);
    },
  );
});

/** Stop the broker under an open sink, check the error is retryable, restart, write again. */
async function brokerOutage(kafka: KafkaBroker): Promise<void> {
  await createTopics(kafka.bootstrap, ["outage"]);
  const logs = captureLog();
  const sink = createKafkaSink(
    kafkaConfig({ brokers: [kafka.bootstrap], topic: "outage", "connect-timeout-ms": 500 }),
    logs,
  );
  const runner = new SinkRunner(sink, {
    batchSize: 20,
    flushIntervalMs: 50,
    backoff: { baseMs: 50, capMs: 200, maxRetries: 3 },
    breaker: { failureThreshold: 3, cooldownMs: 200, maxCooldownMs: 1000 },
    log: logs.log,
  });
  await runner.open();
  for (const r of records(0, 40)) runner.push(r);
  await waitFor(() => runner.stats().recordsSent === 40, "first 40 records", 30_000);
  await kafka.stopBroker();
  for (const r of records(40, 60)) runner.push(r);
  await waitFor(() => runner.stats().breakerOpens >= 1, "the breaker to open", 60_000);
  const during = runner.stats();
  assert.ok(during.failures >= 3, JSON.stringify(during));
  assert.equal(during.failuresByCode.sink_unavailable, during.failures);
  assert.equal(during.droppedRecords.retries_exhausted, 0);
  await kafka.startBroker();
  await waitFor(() => runner.stats().recordsSent === 100, "all 100 records after restart", 60_000);
  assert.deepEqual(await runner.drain(10_000), { complete: true });
  const got = await readTopic(kafka.bootstrap, "outage");
  const ids = new Set(got.map((m) => JSON.parse(m.payload!).event_id));
  assert.equal(ids.size, 100, "every record is in the topic");
  assert.ok(logs.lines.some((l) => l.msg.includes("circuit breaker open")));
  assert.ok(logs.lines.some((l) => l.msg.includes("circuit breaker closed")));
}
