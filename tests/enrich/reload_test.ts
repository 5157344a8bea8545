/**
 * Hot reload under load: records are enriched continuously while the database file is replaced
 * (atomic rename, picked up by mtime polling), replaced by a damaged file (old data kept), and
 * reloaded by `reload()` (SIGHUP). Every record must come out enriched — none lost, none without
 * data — and the version on the records must move forward exactly at the swaps.
 */
import assert from "node:assert/strict";
import { defaultConfig } from "../../src/config/defaults.ts";
import { createEnricher } from "../../src/enrich/enricher.ts";
import { writeMmdb } from "./_mmdb_writer.ts";
import { recordFor } from "./_records.ts";

const DAY = 86_400;

function asnDb(asn: number, day: number): Uint8Array {
  return writeMmdb({
    databaseType: "GeoLite2-ASN",
    ipVersion: 6,
    buildEpoch: 1_767_225_600 + day * DAY,
    networks: [{
      cidr: "8.8.8.0/24",
      data: { autonomous_system_number: asn, autonomous_system_organization: `Org ${asn}` },
    }],
  });
}

async function replace(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.writeFile(`${path}.tmp`, bytes);
  await Deno.rename(`${path}.tmp`, path);
}

Deno.test("enricher hot-reloads data under load: file change, damaged file, SIGHUP, no record lost", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/asn.mmdb`;
  await Deno.writeFile(path, asnDb(64500, 0));
  const config = defaultConfig();
  config.enrichment = {
    ...config.enrichment,
    dataDir: `${dir}/none`,
    databases: [path],
    reloadIntervalMs: 20,
  };
  const logs: string[] = [];
  const e = await createEnricher(config, { log: (level, msg) => logs.push(`${level}: ${msg}`) });
  const seen: number[] = [];
  const versions: string[] = [];
  const N = 60_000;
  let reloading: Promise<void> | null = null;
  for (let i = 0; i < N; i++) {
    if (i === 10_000) await replace(path, asnDb(64501, 1));
    if (i === 30_000) await replace(path, new TextEncoder().encode("not a database"));
    if (i === 40_000) reloading = e.reload(); // SIGHUP with the damaged file in place
    if (i === 45_000) {
      await reloading;
      await replace(path, asnDb(64502, 2));
      reloading = e.reload();
    }
    const { record, lc } = recordFor({ clientIp: "8.8.8.8:1", status: 200 });
    e.enrich(record, lc);
    seen.push(record.asn?.number ?? -1);
    const v = record.asn?.data_version ?? "none";
    if (versions.at(-1) !== v) versions.push(v);
    if (i % 250 === 0) await new Promise((r) => setTimeout(r, 1)); // let the poll timer run
  }
  await reloading;
  e.close();
  assert.equal(seen.length, N, "every record came out");
  assert.equal(seen.filter((n) => n < 0).length, 0, "no record without ASN data");
  assert.deepEqual(versions, [
    "GeoLite2-ASN@2026-01-01",
    "GeoLite2-ASN@2026-01-02",
    "GeoLite2-ASN@2026-01-03",
  ]);
  assert.deepEqual([...new Set(seen)], [64500, 64501, 64502], "versions only move forward");
  assert.ok(
    seen.indexOf(64501) >= 10_000 && seen.indexOf(64501) < 30_000,
    "file change picked up by polling",
  );
  assert.ok(seen.lastIndexOf(64501) >= 45_000, "the damaged file kept the previous data");
  assert.ok(logs.some((l) => l.startsWith("error: data file refused; keeping")), logs.join("\n"));
  const m = e.metricsText();
  assert.match(
    m,
    /telemetry_enrich_data_loads_total\{reason="enrich_data_invalid",result="kept_previous"\} [1-9]/,
  );
  assert.match(m, /telemetry_enrich_records_total 60000/);
});
