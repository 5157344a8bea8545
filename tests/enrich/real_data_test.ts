/**
 * Enrichment on the real fetched data (geo-data/, `deno task geo`): ground truth from public
 * knowledge about well-known public resolvers, IPv6, IPv4-mapped, private, `unknown` and
 * malformed client addresses. Fetches the data first when it is missing; never skips.
 */
import assert from "node:assert/strict";
import { defaultConfig } from "../../src/config/defaults.ts";
import { createEnricher, type Enricher } from "../../src/enrich/enricher.ts";
import { ensureGeoData, GEO_DATA_DIR } from "./_geo_data.ts";
import { recordFor } from "./_records.ts";

const logs: string[] = [];

async function enricher(): Promise<Enricher> {
  await ensureGeoData();
  const config = defaultConfig();
  config.enrichment = { ...config.enrichment, dataDir: GEO_DATA_DIR, reloadIntervalMs: 0 };
  return await createEnricher(config, { log: (level, msg) => logs.push(`${level} ${msg}`) });
}

function enrich(e: Enricher, clientIp: string) {
  const { record, lc } = recordFor({ clientIp, status: 200 });
  e.enrich(record, lc);
  return record;
}

Deno.test("enricher on real data: public resolvers map to their AS and country", async () => {
  const e = await enricher();
  const truth: [string, number, string | null][] = [
    ["8.8.8.8:53", 15169, "US"],
    ["8.8.4.4:53", 15169, "US"],
    ["1.1.1.1:53", 13335, null],
    ["1.0.0.1:53", 13335, null],
    ["9.9.9.9:53", 19281, null],
    ["208.67.222.222:53", 36692, "US"],
    ["[2001:4860:4860::8888]:53", 15169, null],
    ["[2606:4700:4700::1111]:53", 13335, null],
    ["[2620:fe::fe]:53", 19281, null],
  ];
  for (const [ip, asn, country] of truth) {
    const r = enrich(e, ip);
    assert.equal(r.client?.network_type, "public", ip);
    assert.equal(r.asn?.number, asn, `${ip} → AS${asn}`);
    assert.match(r.asn?.network ?? "", /\/\d+$/, ip);
    assert.match(r.asn?.data_version ?? "", /^ipldb-asn@/);
    assert.ok(r.geo?.country_iso_code, `${ip} has a country`);
    assert.match(r.geo?.data_version ?? "", /^dbip-city-lite@/);
    if (country) assert.equal(r.geo?.country_iso_code, country, ip);
  }
  const g = enrich(e, "8.8.8.8:53");
  assert.equal(g.asn?.organization, "Google LLC");
  assert.equal(g.geo?.country_name, "United States");
  assert.equal(g.geo?.continent_code, "NA");
  assert.equal(g.threat?.is_hosting, true, "AS15169 is on the hosting list");
  assert.deepEqual(g.threat?.reasons, ["hosting_asn"]);
  assert.equal(enrich(e, "1.1.1.1:53").asn?.organization, "Cloudflare, Inc.");
  e.close();
});

Deno.test("enricher on real data: IPv4-mapped IPv6 is looked up as IPv4", async () => {
  const e = await enricher();
  const r = enrich(e, "[::ffff:8.8.8.8]:443");
  assert.equal(r.asn?.number, 15169);
  assert.equal(r.geo?.country_iso_code, "US");
  e.close();
});

Deno.test("enricher on real data: non-public, unknown and malformed addresses are not looked up", async () => {
  const e = await enricher();
  for (
    const [ip, type] of [
      ["10.0.0.7:1", "private"],
      ["127.0.0.1:1", "loopback"],
      [
        "100.64.1.1:1",
        "cgnat",
      ],
      ["[fe80::1]:1", "link_local"],
      ["192.0.2.1:1", "documentation"],
    ]
  ) {
    const r = enrich(e, ip);
    assert.equal(r.client?.network_type, type, ip);
    assert.equal(r.geo, undefined, ip);
    assert.equal(r.asn, undefined, ip);
    assert.equal(r.threat?.is_bogon, true, ip);
  }
  assert.deepEqual(enrich(e, "192.0.2.1:1").threat?.reasons, ["bogon_source:documentation"]);
  for (const ip of ["unknown", "not an address", "999.1.1.1:80", "/run/proxy.sock", ""]) {
    const r = enrich(e, ip);
    assert.equal(r.geo, undefined, ip);
    assert.equal(r.asn, undefined, ip);
    assert.equal(r.client?.network_type, undefined, ip);
    assert.equal(r.threat?.is_bogon, undefined, ip);
    assert.equal(typeof r.threat?.score, "number", `${ip}: threat still scored`);
  }
  const text = e.metricsText();
  assert.match(text, /telemetry_enrich_addresses_skipped_total\{reason="unknown"\} 1/);
  assert.match(text, /telemetry_enrich_addresses_skipped_total\{reason="invalid"\} 3/);
  assert.match(text, /telemetry_enrich_addresses_skipped_total\{reason="unix"\} 1/);
  assert.match(text, /telemetry_enrich_data_info\{dataset="asn",version="ipldb-asn@/);
  e.close();
});

Deno.test("enricher on real data: versions and DB-IP attribution are reported", async () => {
  const e = await enricher();
  const v = e.dataVersions();
  assert.deepEqual([...new Set(v.map((x) => x.dataset))].sort(), ["asn", "geo", "hosting"]);
  assert.ok(v.some((x) => x.attribution === "IP Geolocation by DB-IP (https://db-ip.com)"));
  e.close();
});
