/**
 * One run, one workload, every sink of issue 9: the agent as a process fed N lifecycles over
 * its socket (the proxy emulator, 500 lifecycles per write), once per sink configuration —
 * file NDJSON, file Parquet, S3 NDJSON+gzip, S3 Parquet (SeaweedFS), HTTP NDJSON+gzip (local
 * receiver), BigQuery (contract server). For each: events/s from the first event sent to the
 * last record at the destination, bytes written per event, and for the network sinks the ack
 * p99 of 1000 lifecycles sent one event at a time with the sink up, then down.
 *
 *   deno run -A scripts/bench_sinks.ts [--lifecycles N]   # default 20000; prints JSON lines
 * @module
 */

import { parseArgs } from "node:util";
import { S3_ACCESS_KEY, S3_SECRET_KEY, startSeaweed } from "./services/seaweedfs.ts";
import { bigQuerySchema } from "../src/sinks/bigquery/schema.ts";
import { type AgentProcess, startAgent } from "../tests/helpers/agent.ts";
import {
  makeServiceAccountKey,
  startBigQueryContractServer,
} from "../tests/helpers/bigquery_contract_server.ts";
import { startFaultProxy } from "../tests/helpers/fault_proxy.ts";
import { startReceiver } from "../tests/helpers/http_receiver.ts";
import { ackLatencies, p99, sendLifecycles, waitCount } from "../tests/helpers/lifecycles.ts";
import { connectV2, type V2Client } from "../tests/helpers/proxy_client.ts";
import { createS3Bucket, readS3Objects } from "../tests/helpers/python_tools.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { lifecycles: { type: "string", default: "20000" } },
});
const N = Number(values.lifecycles);
const KEYS = { accessKey: S3_ACCESS_KEY, secretKey: S3_SECRET_KEY };
const QUEUE =
  "max-queue-records 1000000\n retry-max 1000\n retry-cap-ms 500\n breaker-cooldown-ms 200\n breaker-max-cooldown-ms 500";

interface Result {
  sink: string;
  events: number;
  events_per_s: number;
  bytes_per_event: number;
  ack_p99_ms_up?: number;
  ack_p99_ms_down?: number;
}

/** Records the agent's sink has had accepted (its own metric), for polling. */
function sentBy(agent: AgentProcess, sink: string): () => Promise<number> {
  return async () =>
    (await agent.metrics()).get(`telemetry_sink_records_sent_total{sink="${sink}"}`) ?? 0;
}

/** Feed N lifecycles; resolves when `delivered()` reaches N, with events/s. */
async function drive(
  agent: AgentProcess,
  delivered: () => number | Promise<number>,
): Promise<{ c: V2Client; eps: number }> {
  const c = await connectV2(agent.socketPath, { encodings: ["json"] });
  const t0 = performance.now();
  await sendLifecycles(c, "w", N, 500);
  await waitCount(delivered, N, "records delivered", 300_000);
  return { c, eps: Math.round((2 * N) / ((performance.now() - t0) / 1000)) };
}

async function downUp(
  c: V2Client,
  down: () => Promise<void> | void,
  up: () => Promise<void> | void,
) {
  const upMs = await ackLatencies(c, "u", 1000);
  await down();
  let downMs: number[];
  try {
    downMs = await ackLatencies(c, "d", 1000);
  } finally {
    await up();
  }
  return { ack_p99_ms_up: round(p99(upMs)), ack_p99_ms_down: round(p99(downMs)) };
}

async function fileRun(format: "ndjson" | "parquet"): Promise<Result> {
  const ext = format === "parquet" ? ".parquet" : ".ndjson";
  const opts = format === "parquet" ? 'format "parquet"\n row-group-size 10000' : "";
  const agent = await startAgent({
    config: `sink "file" { directory "./data"; batch-size 1000; ${opts} }`,
  });
  const c = await connectV2(agent.socketPath, { encodings: ["json"] });
  const t0 = performance.now();
  await sendLifecycles(c, "w", N, 500);
  await c.close();
  await agent.stop(); // the last file is published at close
  const secs = (performance.now() - t0) / 1000;
  let bytes = 0;
  for await (const e of Deno.readDir(agent.dataDir)) {
    if (e.name.endsWith(ext)) bytes += (await Deno.stat(`${agent.dataDir}/${e.name}`)).size;
  }
  await agent[Symbol.asyncDispose]();
  return {
    sink: `file ${format}`,
    events: 2 * N,
    events_per_s: Math.round((2 * N) / secs),
    bytes_per_event: round(bytes / (2 * N)),
  };
}

async function s3Runs(): Promise<Result[]> {
  await using server = await startSeaweed();
  await createS3Bucket(server.endpoint, "bench", KEYS);
  const env = { AWS_ACCESS_KEY_ID: S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET_KEY };
  const out: Result[] = [];
  for (const format of ["ndjson", "parquet"] as const) {
    using proxy = startFaultProxy({
      hostname: "127.0.0.1",
      port: Number(new URL(server.endpoint).port),
    });
    const prefix = `${format}/`;
    const config =
      `sink "s3" { bucket "bench"; endpoint "${proxy.url}"; path-style true; prefix "${prefix}"
      format "${format}"; batch-size 5000; flush-interval-ms 1000; ${QUEUE} }`;
    await using agent = await startAgent({ config, env });
    const { c, eps } = await drive(agent, sentBy(agent, "s3"));
    await waitCount(() => countObjects(server.endpoint, prefix), N, "records in S3");
    const objects = await readS3Objects(server.endpoint, "bench", prefix, KEYS);
    const bytes = objects.reduce((n, o) => n + o.size, 0);
    if (objects.reduce((n, o) => n + o.records.length, 0) !== N) {
      throw new Error("S3 lost or doubled records");
    }
    const acks = await downUp(c, () => proxy.down(), () => proxy.up());
    await c.close();
    await agent.stop();
    const name = format === "ndjson" ? "s3 ndjson+gzip" : "s3 parquet";
    out.push({
      sink: name,
      events: 2 * N,
      events_per_s: eps,
      bytes_per_event: round(bytes / (2 * N)),
      ...acks,
    });
  }
  return out;
}

async function httpRun(): Promise<Result> {
  await using rx = await startReceiver();
  const config =
    `sink "http" { url "${rx.url}"; compression "gzip"; batch-size 1000; flush-interval-ms 200; ${QUEUE} }`;
  await using agent = await startAgent({ config });
  const { c, eps } = await drive(agent, () => rx.records().length);
  const bytes = rx.batches.reduce((n, b) => n + b.wireBytes, 0);
  const acks = await downUp(c, () => rx.stop(), () => rx.restart());
  await c.close();
  await agent.stop();
  return {
    sink: "http ndjson+gzip",
    events: 2 * N,
    events_per_s: eps,
    bytes_per_event: round(bytes / (2 * N)),
    ...acks,
  };
}

async function bigQueryRun(): Promise<Result> {
  const table = { project: "bench", dataset: "edge", table: "requests" };
  const server = await startBigQueryContractServer({ ...table, schema: bigQuerySchema() });
  const key = await makeServiceAccountKey(server.tokenUrl);
  server.trust(key);
  const keyFile = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(keyFile, JSON.stringify(key.json));
  try {
    const config =
      `sink "bigquery" { project "bench"; dataset "edge"; table "requests"; credentials-file "${keyFile}"
      endpoint "${server.url}"; token-url "${server.tokenUrl}"; batch-size 1000; flush-interval-ms 200; ${QUEUE} }`;
    await using agent = await startAgent({ config });
    const { c, eps } = await drive(agent, () => server.rows.length);
    const bytes = server.requests.filter((r) => r.status === 200).reduce((n, r) => n + r.bytes, 0);
    const acks = await downUp(c, () => server.stop(), () => server.restart());
    await c.close();
    await agent.stop();
    return {
      sink: "bigquery insertAll",
      events: 2 * N,
      events_per_s: eps,
      bytes_per_event: round(bytes / (2 * N)),
      ...acks,
    };
  } finally {
    await server.stop();
    await Deno.remove(keyFile);
  }
}

async function countObjects(endpoint: string, prefix: string): Promise<number> {
  return (await readS3Objects(endpoint, "bench", prefix, KEYS)).reduce(
    (n, o) => n + o.records.length,
    0,
  );
}

function round(x: number): number {
  return Number(x.toFixed(3));
}

const results: Result[] = [];
results.push(await fileRun("ndjson"));
results.push(await fileRun("parquet"));
results.push(...await s3Runs());
results.push(await httpRun());
results.push(await bigQueryRun());
for (const r of results) console.log(JSON.stringify(r));
