/**
 * Bring-your-own MaxMind-format databases: City, ASN, Anonymous-IP and Connection-Type files are
 * recognised from their metadata and mapped to the record's fields; unknown or damaged files are
 * refused with a reason and leave their enrichment off. Files are written by a test MaxMind DB
 * writer and read through the agent's real loader (npm:maxmind).
 */
import assert from "node:assert/strict";
import { defaultConfig } from "../../src/config/defaults.ts";
import { createEnricher } from "../../src/enrich/enricher.ts";
import { DataFileError } from "../../src/enrich/errors.ts";
import { kindOf, openMmdb } from "../../src/enrich/mmdb.ts";
import { writeMmdb } from "./_mmdb_writer.ts";
import { recordFor } from "./_records.ts";

const CITY = writeMmdb({
  databaseType: "GeoIP2-City",
  ipVersion: 6,
  networks: [{
    cidr: "81.2.69.0/24",
    data: {
      continent: { code: "EU", names: { en: "Europe" } },
      country: { iso_code: "GB", names: { en: "United Kingdom" } },
      subdivisions: [{ iso_code: "ENG", names: { en: "England" } }],
      city: { names: { en: "London" } },
      postal: { code: "EC1A" },
      location: {
        latitude: 51.5142,
        longitude: -0.0931,
        accuracy_radius: 10,
        time_zone: "Europe/London",
      },
    },
  }, {
    cidr: "2a02:db8::/32",
    data: { country: { iso_code: "DE", names: { en: "Germany" } } },
  }],
});
const ASN = writeMmdb({
  databaseType: "GeoLite2-ASN",
  ipVersion: 6,
  networks: [{
    cidr: "81.2.69.0/23",
    data: {
      autonomous_system_number: 20712,
      autonomous_system_organization: "Andrews & Arnold Ltd",
    },
  }],
});
const ANON = writeMmdb({
  databaseType: "GeoIP2-Anonymous-IP",
  ipVersion: 6,
  networks: [{
    cidr: "81.2.69.0/24",
    data: { is_anonymous: true, is_anonymous_vpn: true, is_hosting_provider: true },
  }],
});
const CONN = writeMmdb({
  databaseType: "GeoIP2-Connection-Type",
  ipVersion: 6,
  networks: [{ cidr: "81.2.69.0/24", data: { connection_type: "Cable/DSL" } }],
});

Deno.test("kindOf() recognises MaxMind, DB-IP and ip-location-db database types", () => {
  const cases: [string, string | undefined][] = [
    ["GeoIP2-City", "city"],
    ["GeoLite2-City", "city"],
    ["DBIP-City-Lite", "city"],
    ["city ipv4", "city"],
    ["GeoIP2-Enterprise", "city"],
    ["GeoLite2-Country", "country"],
    ["country ipvAll", "country"],
    ["GeoLite2-ASN", "asn"],
    ["DBIP-ASN-Lite (compat=GeoLite2-ASN)", "asn"],
    ["GeoIP2-ISP", "asn"],
    ["GeoIP2-Anonymous-IP", "anonymous_ip"],
    ["GeoIP2-Connection-Type", "connection_type"],
    ["GeoIP2-Domain", undefined],
  ];
  for (const [type, kind] of cases) assert.equal(kindOf(type), kind, type);
});

Deno.test("bring-your-own databases map to geo, asn, connection type and anonymous flags", async () => {
  const dir = await Deno.makeTempDir();
  const paths = {
    city: `${dir}/city.mmdb`,
    asn: `${dir}/asn.mmdb`,
    anon: `${dir}/anon.mmdb`,
    conn: `${dir}/conn.mmdb`,
  };
  await Deno.writeFile(paths.city, CITY);
  await Deno.writeFile(paths.asn, ASN);
  await Deno.writeFile(paths.anon, ANON);
  await Deno.writeFile(paths.conn, CONN);
  const config = defaultConfig();
  config.enrichment = {
    ...config.enrichment,
    dataDir: `${dir}/none`,
    databases: Object.values(paths),
    hostingAsns: new URL("../../geo-data/hosting-asns.txt", import.meta.url).pathname,
    reloadIntervalMs: 0,
  };
  const e = await createEnricher(config, { log: () => {} });
  const { record, lc } = recordFor({ clientIp: "81.2.69.160:443", status: 200 });
  e.enrich(record, lc);
  assert.deepEqual(record.geo, {
    continent_code: "EU",
    country_iso_code: "GB",
    country_name: "United Kingdom",
    region_iso_code: "GB-ENG",
    region_name: "England",
    city_name: "London",
    postal_code: "EC1A",
    location: { lat: 51.5142, lon: -0.0931 },
    accuracy_radius_km: 10,
    timezone: "Europe/London",
    data_version: "GeoIP2-City@2026-01-01",
  });
  assert.deepEqual(record.asn, {
    number: 20712,
    organization: "Andrews & Arnold Ltd",
    network: "81.2.68.0/23",
    connection_type: "Cable/DSL",
    data_version: "GeoLite2-ASN@2026-01-01",
  });
  assert.equal(record.threat?.is_vpn, true);
  assert.equal(record.threat?.is_hosting, true, "Anonymous-IP is_hosting_provider");
  assert.deepEqual(record.threat?.reasons, ["anonymous_vpn", "hosting_asn"]);
  const v6 = recordFor({ clientIp: "[2a02:db8::9]:1", status: 200 });
  e.enrich(v6.record, v6.lc);
  assert.equal(v6.record.geo?.country_iso_code, "DE");
  assert.equal(v6.record.geo?.continent_code, "EU", "continent filled from the country code");
  e.close();
});

Deno.test("openMmdb() refuses damaged files and database types it does not map", () => {
  assert.throws(
    () => openMmdb(CITY.slice(0, 100), "cut.mmdb"),
    (e: unknown) => e instanceof DataFileError && e.code === "enrich_data_invalid",
  );
  assert.throws(() => openMmdb(new TextEncoder().encode("hello"), "txt.mmdb"), DataFileError);
  const domain = writeMmdb({
    databaseType: "GeoIP2-Domain",
    ipVersion: 6,
    networks: [{ cidr: "1.2.3.0/24", data: { domain: "x.example" } }],
  });
  assert.throws(
    () => openMmdb(domain, "domain.mmdb"),
    (e: unknown) => e instanceof DataFileError && e.code === "enrich_data_unknown_kind",
  );
});

Deno.test("a refused database leaves its enrichment off and says why in the log", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/bad.mmdb`, CITY.slice(0, CITY.length - 40));
  const config = defaultConfig();
  config.enrichment = {
    ...config.enrichment,
    dataDir: dir,
    databases: [`${dir}/bad.mmdb`],
    reloadIntervalMs: 0,
  };
  const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const e = await createEnricher(config, {
    log: (level, msg, fields) =>
      logs.push({ level, msg, fields: fields as Record<string, unknown> }),
  });
  const { record, lc } = recordFor({ clientIp: "81.2.69.160:1", status: 200 });
  e.enrich(record, lc);
  assert.equal(record.geo, undefined);
  assert.equal(record.client?.network_type, "public");
  const refused = logs.find((l) => l.msg.startsWith("data file refused"));
  assert.ok(refused, JSON.stringify(logs));
  assert.equal(refused.fields?.file, `${dir}/bad.mmdb`);
  assert.match(
    e.metricsText(),
    /telemetry_enrich_data_loads_total\{reason="enrich_data_invalid",result="failed"\} 1/,
  );
  e.close();
});
