/**
 * Sink benchmarks against real servers, one agent process each, in one run:
 *   - throughput: lifecycles pushed as fast as the proxy emulator can, until the sink has
 *     acknowledged all of them → records/s and events/s into the backend, checked with an
 *     independent reader (kcat for Kafka);
 *   - ack latency with the sink up and with it down: a paced stream of lifecycles, the round trip
 *     from sending request_headers to its ack, p50/p99, the backend running and then stopped.
 *
 * Usage: deno run -A scripts/bench-sinks.ts [--sink kafka] [--lifecycles 50000]
 *          [--rate 500] [--seconds 10] [--compression none]
 * Prints one JSON object and writes it to .cache/bench/sinks-<sink>-<timestamp>.json.
 * Needs what the tests need (java, mvn, kcat). The ClickHouse part plugs into `BENCHES`.
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { type AgentProcess, startAgent } from "../tests/helpers/agent.ts";
import { connectV2, type V2Client } from "../tests/helpers/proxy_client.ts";
import { requestHeadersEvent, responseHeadersEvent } from "../tests/helpers/proxy_encode.ts";
import { createTopics, ensureKcat } from "../tests/sinks/_kafka.ts";
import { startKafka } from "./services/kafka.ts";
import { createSink } from "../src/sinks/registry.ts";
import { createSinkRunner } from "../src/sinks/runner.ts";
import type { TelemetryRecord } from "../src/record/schema.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");

interface BenchOptions {
  lifecycles: number;
  rate: number;
  seconds: number;
  compression: string;
}

type Bench = (o: BenchOptions) => Promise<Record<string, unknown>>;

/** One entry per sink type; each starts its own server and agent. */
const BENCHES: Record<string, Bench> = {
  kafka: benchKafka,
};

async function benchKafka(o: BenchOptions): Promise<Record<string, unknown>> {
  await ensureKcat();
  await using kafka = await startKafka();
  await createTopics(kafka.bootstrap, ["bench"], 3);
  const config = `sink "kafka" {
  brokers ["${kafka.bootstrap}"]
  topic "bench"
  compression "${o.compression}"
  batch-size 1000
  flush-interval-ms 200
  max-queue-records 1000000
  breaker-cooldown-ms 500
  breaker-max-cooldown-ms 2000
}
`;
  await using agent = await startAgent({ config });
  const throughput = await pushAll(agent, o.lifecycles);
  const inKafka = await countWithKcat(kafka.bootstrap, "bench");
  const template = await firstRecord(kafka.bootstrap, "bench");
  await createTopics(kafka.bootstrap, ["bench-sink-only"], 3);
  const sinkOnly = await sinkAlone(kafka.bootstrap, "bench-sink-only", template, o);
  const up = await paced(agent, "up", o.rate, o.seconds);
  await kafka.stopBroker();
  const down = await paced(agent, "down", o.rate, o.seconds);
  await kafka.startBroker();
  const expected = o.lifecycles + up.sent + down.sent;
  const recovered = await waitSent(agent, expected, 120_000);
  return {
    sink: "kafka",
    compression: o.compression,
    throughput_agent: { ...throughput, kcat_count: inKafka },
    throughput_sink_alone: {
      ...sinkOnly,
      kcat_count: await countWithKcat(kafka.bootstrap, "bench-sink-only"),
    },
    ack_ms_sink_up: up.latency,
    ack_ms_sink_down: down.latency,
    after_restart: {
      expected_records: expected,
      records_sent: recovered.sent,
      seconds_to_catch_up: recovered.seconds,
      kcat_count: await countWithKcat(kafka.bootstrap, "bench"),
    },
  };
}

/** Send `n` lifecycles over 4 connections (windows of 200), then wait until the sink has them. */
async function pushAll(agent: AgentProcess, n: number) {
  const conns = await Promise.all([0, 1, 2, 3].map(() => connect(agent)));
  const t0 = performance.now();
  await Promise.all(conns.map(async (c, k) => {
    for (let i = k; i < n; i += 4 * 200) {
      const ids: string[] = [];
      for (let j = i; j < Math.min(n, i + 4 * 200); j += 4) {
        const cid = `t-${j}`;
        ids.push(cid);
        await c.send("request_headers", requestHeadersEvent(cid));
        await c.send("response_headers", responseHeadersEvent(cid, 200));
      }
      for (const cid of ids) {
        await c.answer(cid, 30_000);
        await c.answer(cid, 30_000);
      }
    }
  }));
  const acked = (performance.now() - t0) / 1000;
  const done = await waitSent(agent, n, 300_000);
  const seconds = (performance.now() - t0) / 1000;
  const m = await agent.metrics();
  for (const c of conns) c.close();
  const events = m.get('telemetry_sink_events_sent_total{sink="kafka"}') ?? 0;
  const bytes = m.get('telemetry_sink_sent_bytes_total{sink="kafka"}') ?? 0;
  return {
    lifecycles: n,
    seconds_to_ack_all: round(acked),
    seconds_until_sink_acknowledged_all: round(seconds),
    records_per_s: Math.round(done.sent / seconds),
    events_per_s: Math.round(events / seconds),
    mib_per_s: round(bytes / seconds / 1048576),
    batches: m.get('telemetry_sink_batches_sent_total{sink="kafka"}') ?? 0,
  };
}

/** A record the agent wrote (read back with kcat), as the template for the sink-alone run. */
async function firstRecord(bootstrap: string, topic: string): Promise<TelemetryRecord> {
  const out = await new Deno.Command("kcat", {
    args: ["-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-c", "1", "-q", "-f", "%s"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/**
 * The Kafka sink and its runner alone in this process (no agent, no socket): how fast records
 * of the agent's real shape go into Kafka, batch-size 1000.
 */
async function sinkAlone(
  bootstrap: string,
  topic: string,
  template: TelemetryRecord,
  o: BenchOptions,
) {
  const n = o.lifecycles * 2;
  const cfg = {
    name: "kafka",
    type: "kafka" as const,
    batchSize: 1000,
    flushIntervalMs: 200,
    options: { brokers: [bootstrap], topic, compression: o.compression, "max-queue-records": n },
  };
  const runner = createSinkRunner(createSink(cfg, { log: () => {} }), cfg);
  await runner.open();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    runner.push({
      ...template,
      event_id: `${template.event_id.slice(0, 24)}${String(i).padStart(12, "0")}`,
    });
    if (i % 5000 === 4999) await new Promise((r) => setTimeout(r, 0));
  }
  await runner.drain(300_000);
  const seconds = (performance.now() - t0) / 1000;
  const s = runner.stats();
  return {
    records: s.recordsSent,
    seconds: round(seconds),
    records_per_s: Math.round(s.recordsSent / seconds),
    events_per_s: Math.round(s.eventsSent / seconds),
    mib_per_s: round(s.bytesSent / seconds / 1048576),
    batches: s.batchesSent,
    mean_write_ms: round((s.writeSecondsSum / Math.max(1, s.writeCount)) * 1000),
  };
}

/** `rate` lifecycles/s for `seconds`, one connection; RTT of each request_headers ack. */
async function paced(agent: AgentProcess, label: string, rate: number, seconds: number) {
  const c = await connect(agent);
  const rtts: number[] = [];
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = start + (sent * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const cid = `${label}-${sent++}`;
    const t0 = performance.now();
    await c.send("request_headers", requestHeadersEvent(cid));
    await c.answer(cid, 30_000);
    rtts.push(performance.now() - t0);
    await c.send("response_headers", responseHeadersEvent(cid, 200));
    await c.answer(cid, 30_000);
  }
  c.close();
  rtts.sort((a, b) => a - b);
  const q = (p: number) => round(rtts[Math.min(rtts.length - 1, Math.floor(rtts.length * p))]);
  return {
    sent,
    latency: { n: rtts.length, rate, p50: q(0.5), p99: q(0.99), max: q(1) },
  };
}

async function waitSent(agent: AgentProcess, n: number, limitMs: number) {
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < limitMs) {
    sent = (await agent.metrics()).get('telemetry_sink_records_sent_total{sink="kafka"}') ?? 0;
    if (sent >= n) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { sent, seconds: (performance.now() - t0) / 1000 };
}

async function connect(agent: AgentProcess): Promise<V2Client> {
  return await connectV2(agent.socketPath, { encodings: ["json"] });
}

async function countWithKcat(bootstrap: string, topic: string): Promise<number> {
  const out = await new Deno.Command("kcat", {
    args: ["-b", bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q", "-f", "x\n"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return out.stdout.filter((b) => b === 0x0a).length;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sink: { type: "string", default: "kafka" },
      lifecycles: { type: "string", default: "50000" },
      rate: { type: "string", default: "500" },
      seconds: { type: "string", default: "10" },
      compression: { type: "string", default: "none" },
    },
  });
  const bench = BENCHES[values.sink];
  if (bench === undefined) {
    console.error(`unknown --sink ${values.sink}; known: ${Object.keys(BENCHES).join(", ")}`);
    Deno.exit(2);
  }
  const result = await bench({
    lifecycles: Number(values.lifecycles),
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    compression: values.compression,
  });
  const text = JSON.stringify(result, null, 2);
  console.log(text);
  await Deno.mkdir(`${ROOT}/.cache/bench`, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  await Deno.writeTextFile(`${ROOT}/.cache/bench/sinks-${values.sink}-${stamp}.json`, text);
}
