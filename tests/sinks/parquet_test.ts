/**
 * Parquet output, read back by an independent reader (pyarrow from PyPI): every field's value
 * and type, nested groups, lists and header maps included; row groups as configured; the file
 * sink's Parquet files rolled by size, published whole, and recovered after a crash.
 */

import assert from "node:assert/strict";
import { type FieldNode, RECORD_FIELDS, recordFields } from "../../src/record/fields.ts";
import type { TelemetryRecord } from "../../src/record/schema.ts";
import { encodeParquet } from "../../src/sinks/parquet.ts";
import { createFileSink } from "../../src/sinks/file.ts";
import { newShapeReport } from "../../src/sinks/_record_shape.ts";
import { partName } from "../../src/sinks/_file_publish.ts";
import { captureLog, fileSinkConfig, listNames, makeRecord } from "./_helpers.ts";
import { runPython } from "../helpers/python_tools.ts";

/** Reads Parquet files with pyarrow; prints per file: leaf types, row group sizes, rows. */
const READER = `
import sys, json, datetime
import pyarrow as pa, pyarrow.parquet as pq
def conv(v):
    if isinstance(v, datetime.datetime):
        v = v.astimezone(datetime.timezone.utc)
        return v.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (v.microsecond // 1000)
    if isinstance(v, dict): return {k: conv(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)): return [conv(x) for x in v]
    return v
def leaves(fields, prefix, out):
    for f in fields:
        if pa.types.is_struct(f.type): leaves(list(f.type), prefix + f.name + '.', out)
        else: out[prefix + f.name] = [str(f.type), f.nullable]
    return out
res = []
for path in sys.argv[1:]:
    f = pq.ParquetFile(path)
    t = f.read()
    md = f.metadata
    res.append({'types': leaves(list(t.schema), '', {}),
                'row_groups': [md.row_group(i).num_rows for i in range(md.num_row_groups)],
                'created_by': md.created_by,
                'rows': conv(t.to_pylist())})
print(json.dumps(res))
`;

interface ReadBack {
  types: Record<string, [string, boolean]>;
  row_groups: number[];
  created_by: string;
  rows: Record<string, unknown>[];
}

async function readParquet(...paths: string[]): Promise<ReadBack[]> {
  return JSON.parse(await runPython(READER, paths));
}

/** A record with every group filled in. */
function richRecord(seq: number): TelemetryRecord {
  const r = makeRecord(seq, 2);
  return {
    ...r,
    partial_reason: undefined,
    protocol_version: 2,
    request: {
      ...r.request,
      request_id: `req-${seq}`,
      host: "example.com",
      query: "a=1&b=2",
      query_keys: ["a", "b"],
      protocol: "HTTP/1.1",
      headers: { "user-agent": ["curl/8.5"], accept: ["text/html", "application/json"] },
      body_bytes: 9_007_199_254_740_000 + seq,
      user_agent: "curl/8.5",
    },
    response: {
      status: 503,
      status_class: "5xx",
      body_bytes: 0,
      headers: { "content-type": ["text/plain"] },
    },
    client: {
      ip: "2001:db8::1",
      port: 65535,
      ip_version: 6,
      address_kind: "ip",
      network_type: "public",
    },
    tls: { version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256", server_name: "example.com" },
    geo: {
      country_iso_code: "DE",
      city_name: "Berlin",
      location: { lat: 52.52, lon: 13.405 },
      accuracy_radius_km: 20,
    },
    asn: { number: 4_200_000_000, organization: "Example AS", network: "2001:db8::/32" },
    device: { type: "bot", is_bot: true, bot_name: "curl" },
    threat: { is_known_bad: false, lists: [], score: 12.5, reasons: ["hosting"], is_hosting: true },
    timing: { upstream_ms: 12.25, agent_lag_ms: 0.5, source: "agent" },
    sentinel: {
      route_id: "api",
      upstream_attempts: 2,
      risk_score: 0.75,
      matched_rules: ["r1", "r2"],
    },
    labels: { is_error: true, is_bot: true, is_threat: false, is_slow: false },
  };
}

/** What a reader should see for `r`: every described field, null when absent. */
function expectedRow(
  value: Record<string, unknown> | undefined,
  fields: Readonly<Record<string, FieldNode>>,
) {
  const out: Record<string, unknown> = {};
  for (const [key, node] of Object.entries(fields)) {
    const v = value?.[key];
    if ("group" in node) {
      out[key] = v == null ? null : expectedRow(v as Record<string, unknown>, node.group);
    } else if (v == null) out[key] = null;
    else if (node.kind === "header_map") out[key] = Object.entries(v as object);
    else out[key] = v;
  }
  return out;
}

const TOP = RECORD_FIELDS as unknown as Readonly<Record<string, FieldNode>>;

function arrowType(kind: string, bits = 64, signed = false): string {
  switch (kind) {
    case "integer":
      return `${signed ? "int" : "uint"}${bits}`;
    case "float":
      return "double";
    case "boolean":
      return "bool";
    case "timestamp":
      return "timestamp[ms, tz=UTC]";
    case "string_list":
      return "list<element: string not null>";
    case "header_map":
      return "map<string, list<element: string not null>>";
    default:
      return "string";
  }
}

Deno.test("encodeParquet() round-trips every field's value and type through pyarrow", async () => {
  const records = [richRecord(1), makeRecord(2), richRecord(3), {
    ...makeRecord(4),
    partial: true,
    partial_reason: "no_response" as const,
  }];
  const path = await Deno.makeTempFile({ suffix: ".parquet" });
  try {
    await Deno.writeFile(path, encodeParquet(records, { rowGroupSize: 3 }));
    const [file] = await readParquet(path);
    assert.deepEqual(file.row_groups, [3, 1]);
    assert.match(file.created_by, /^telemetry /);
    for (const { path: p, spec } of recordFields()) {
      const got = file.types[p.join(".")];
      assert.ok(got, `column ${p.join(".")} missing`);
      // pyarrow names a map's entries after the column (`map<…> ('headers')`): not a type.
      const type = got[0].replace(/ \('[^']*'\)/, "");
      assert.equal(type, arrowType(spec.kind, spec.bits, spec.signed), p.join("."));
      if (p.length === 1) assert.equal(got[1], !spec.required, `${p.join(".")} nullability`);
    }
    const want = records.map((r) => expectedRow(r as unknown as Record<string, unknown>, TOP));
    assert.deepEqual(file.rows, want);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("encodeParquet() writes a mistyped value as null and reports fields it does not know", async () => {
  const r = makeRecord(1) as unknown as Record<string, unknown>;
  (r.request as Record<string, unknown>).body_bytes = 12.5;
  r.extra_group = { x: 1 };
  const report = newShapeReport();
  const path = await Deno.makeTempFile({ suffix: ".parquet" });
  try {
    await Deno.writeFile(
      path,
      encodeParquet([r as unknown as TelemetryRecord], { rowGroupSize: 10 }, report),
    );
    assert.deepEqual([...report.mismatched], ["request.body_bytes"]);
    assert.deepEqual([...report.unknown], ["extra_group"]);
    const [file] = await readParquet(path);
    assert.equal((file.rows[0].request as Record<string, unknown>).body_bytes, null);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("file sink format parquet rolls by size, publishes whole files, each record once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cfg = fileSinkConfig(dir, {
      format: "parquet",
      "row-group-size": 40,
      "max-bytes": 60_000,
      compression: "gzip",
    });
    const sink = createFileSink(cfg, { log: captureLog().log });
    await sink.open();
    const written: TelemetryRecord[] = [];
    for (let b = 0; b < 10; b++) {
      const records = Array.from({ length: 50 }, (_, i) => richRecord(b * 50 + i));
      written.push(...records);
      await sink.write({ id: `batch-${b}`, records });
      await sink.write({ id: `batch-${b}`, records }); // a retry of a written batch: skipped
    }
    await sink.close();
    const names = await listNames(dir, ".parquet");
    assert.ok(names.length >= 3, `expected several files rolled by size, got ${names}`);
    assert.deepEqual(await listNames(dir, ".part"), []);
    const files = await readParquet(...names.map((n) => `${dir}/${n}`));
    const ids = files.flatMap((f) => f.rows.map((r) => r.event_id as string));
    assert.deepEqual(ids.sort(), written.map((r) => r.event_id).sort());
    for (const f of files) assert.ok(f.row_groups.every((n) => n <= 40), `${f.row_groups}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file sink format parquet recovers a crashed run's journal and half-done conversion", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => JSON.stringify(richRecord(from + i)) + "\n").join("");
    // A journal with a torn last line, as a crash mid-write leaves it.
    const part = partName("telemetry", "20260301T120000000Z", 1, "parquet");
    await Deno.writeTextFile(`${dir}/${part}`, lines(0, 30) + '{"schema_version":1,"eve');
    // A conversion that reached its commit point (.done) but not the publish rename.
    const base2 = "telemetry-20260301T120000000Z-000002";
    await Deno.writeFile(
      `${dir}/.${base2}.parquet.tmp`,
      encodeParquet([richRecord(100)], { rowGroupSize: 10 }),
    );
    await Deno.writeTextFile(`${dir}/.${base2}.parquet.done`, lines(100, 1));
    // A conversion interrupted before its commit point: the tmp file is dropped, the journal redone.
    const part3 = partName("telemetry", "20260301T120000000Z", 3, "parquet");
    await Deno.writeTextFile(`${dir}/.telemetry-20260301T120000000Z-000003.parquet.tmp`, "garbage");
    await Deno.writeTextFile(`${dir}/${part3}`, lines(200, 5));
    const log = captureLog();
    const sink = createFileSink(fileSinkConfig(dir, { format: "parquet" }), { log: log.log });
    await sink.open();
    await sink.close();
    const names = await listNames(dir, ".parquet");
    assert.equal(names.length, 3);
    const all = [];
    for await (const e of Deno.readDir(dir)) all.push(e.name);
    assert.deepEqual(all.filter((n) => n.startsWith(".")), [], "hidden leftovers remain");
    const files = await readParquet(...names.map((n) => `${dir}/${n}`));
    const ids = files.flatMap((f) => f.rows.map((r) => r.event_id as string)).sort();
    const want = [...Array.from({ length: 30 }, (_, i) => i), 100, 200, 201, 202, 203, 204]
      .map((i) => richRecord(i).event_id).sort();
    assert.deepEqual(ids, want);
    assert.ok(log.lines.some((l) => l.msg.includes("recovered")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
