/**
 * Spool figures for docs/reliability.md: append throughput (records/s, MB/s) with 1000-record
 * batches of realistic records, read-back (replay) throughput, and start-up recovery time of a
 * full spool, on the local disk. Usage: deno run -A scripts/bench-spool.ts [MiB, default 256]
 * @module
 */

import { Spool } from "../src/spool/spool.ts";
import type { TelemetryRecord } from "../src/record/schema.ts";

const mib = Number(Deno.args[0] ?? 256);
const dir = await Deno.makeTempDir({ prefix: "bench-spool-", dir: "." });
const record = (i: number): TelemetryRecord => ({
  schema_version: 1,
  event_id: crypto.randomUUID(),
  timestamp: new Date().toISOString(),
  sample_rate: 1,
  partial: false,
  events: 2,
  agent: { id: "telemetry", version: "0.1.0", host: "bench" },
  request: {
    correlation_id: `c${i}`,
    method: "GET",
    host: "api.example.com",
    path: `/v1/items/${i}`,
    query_keys: ["page", "sort"],
    protocol: "HTTP/1.1",
    headers: { "user-agent": ["Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"], accept: ["*/*"] },
  },
  response: { status: 200, status_class: "2xx", body_bytes: 1234 },
  client: { ip: "203.0.113.0", port: 51234, ip_version: 4, network_type: "public" },
  geo: { country_iso_code: "DE", city_name: "Berlin", location: { lat: 52.5, lon: 13.4 } },
  timing: { upstream_ms: 12.5, agent_lag_ms: 0.4, source: "agent" },
  labels: { is_error: false, is_bot: false, is_threat: false, is_slow: false },
});
const hooks = { onEvicted: () => {}, held: () => ({ records: 0, events: 0 }), log: () => {} };
const opts = {
  directory: dir,
  maxBytes: (mib + 64) * 1048576,
  segmentBytes: 16 * 1048576,
  fsyncMs: 500,
  fullPolicy: "drop-oldest" as const,
};
try {
  const batch = Array.from({ length: 1000 }, (_, i) => record(i));
  const s = await Spool.open(opts, hooks);
  let t = performance.now();
  let n = 0;
  while (s.stats().bytes < mib * 1048576) await s.append(`b${n++}`, batch, 2000);
  await s.sync();
  const appendS = (performance.now() - t) / 1000;
  const bytes = s.stats().bytes;
  await s.close();
  t = performance.now();
  const r = await Spool.open(opts, hooks);
  const recoveryS = (performance.now() - t) / 1000;
  t = performance.now();
  for (let item = await r.read(); item !== null; item = await r.read()) r.done(item.handle);
  const readS = (performance.now() - t) / 1000;
  await r.close();
  const rec = n * 1000;
  console.log(JSON.stringify({
    mib: +(bytes / 1048576).toFixed(1),
    bytes_per_record: Math.round(bytes / rec),
    append_records_per_s: Math.round(rec / appendS),
    append_mib_per_s: +(bytes / 1048576 / appendS).toFixed(1),
    recovery_s: +recoveryS.toFixed(3),
    recovery_mib_per_s: +(bytes / 1048576 / recoveryS).toFixed(0),
    replay_read_records_per_s: Math.round(rec / readS),
  }));
} finally {
  await Deno.remove(dir, { recursive: true });
}
