import assert from "node:assert/strict";
import { defaultConfig } from "../../src/config/defaults.ts";
import type { EnrichmentConfig } from "../../src/config/types.ts";
import { createEnricher, type Enricher } from "../../src/enrich/enricher.ts";
import { pathTemplate } from "../../src/enrich/path_template.ts";
import { sizeBucket } from "../../src/enrich/derive.ts";
import { ensureGeoData, GEO_DATA_DIR } from "./_geo_data.ts";
import { recordFor, type RequestSpec } from "./_records.ts";

const FIX = new URL("../fixtures/threat/", import.meta.url).pathname;

async function enricher(extra: Partial<EnrichmentConfig> = {}): Promise<Enricher> {
  await ensureGeoData();
  const config = defaultConfig();
  config.enrichment = {
    ...config.enrichment,
    dataDir: GEO_DATA_DIR,
    threatLists: [
      `${FIX}spamhaus-drop.txt`,
      `${FIX}tor-exit-addresses.txt`,
      `${FIX}firehol_level1.netset`,
    ],
    reloadIntervalMs: 0,
    ...extra,
  };
  return await createEnricher(config, { log: () => {} });
}

function run(e: Enricher, spec: RequestSpec) {
  const { record, lc } = recordFor(spec);
  e.enrich(record, lc);
  return record;
}

Deno.test("threat: lists, Tor exits and hosting ASNs score with reasons", async () => {
  const e = await enricher();
  const drop = run(e, { clientIp: "1.10.20.30:1", status: 200 });
  assert.deepEqual(drop.threat?.lists, ["spamhaus-drop", "firehol_level1"]);
  assert.equal(drop.threat?.is_known_bad, true);
  assert.deepEqual(drop.threat?.reasons?.slice(0, 2), [
    "list:spamhaus-drop",
    "list:firehol_level1",
  ]);
  assert.ok((drop.threat?.score ?? 0) >= 70);
  assert.equal(drop.labels?.is_threat, true);
  assert.match(drop.threat?.data_version ?? "", /^lists-3@.*\+hosting-asns@curated$/);
  const tor = run(e, { clientIp: "185.220.101.34:1", status: 200 });
  assert.equal(tor.threat?.is_tor_exit, true);
  assert.ok(tor.threat?.reasons?.includes("tor_exit"));
  assert.ok(tor.threat?.reasons?.includes("list:tor-exit-addresses"));
  const clean = run(e, { clientIp: "81.2.69.160:1", status: 200 });
  assert.deepEqual(clean.threat?.reasons, []);
  assert.equal(clean.threat?.score, 0);
  assert.equal(clean.labels?.is_threat, false);
  e.close();
});

Deno.test("threat: open-proxy headers and a crawler name from the wrong AS", async () => {
  const e = await enricher();
  const proxied = run(e, {
    clientIp: "81.2.69.160:1",
    status: 200,
    headers: {
      via: ["1.1 squid"],
      "proxy-connection": ["keep-alive"],
      "x-forwarded-for": ["203.0.113.9, 1.2.3.4, 5.6.7.8, 9.9.9.9, 8.8.8.8, 1.1.1.1"],
    },
  });
  assert.equal(proxied.threat?.is_proxy, true);
  assert.deepEqual(proxied.threat?.reasons, [
    "via_header",
    "proxy_header",
    "forwarded_chain_long",
    "forwarded_chain_invalid",
  ]);
  const fake = run(e, {
    clientIp: "81.2.69.160:1",
    status: 200,
    headers: {
      "user-agent": ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"],
    },
  });
  assert.ok(fake.threat?.reasons?.includes("bot_asn_mismatch"), JSON.stringify(fake.threat));
  const real = run(e, {
    clientIp: "66.249.66.1:1",
    status: 200,
    headers: {
      "user-agent": ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"],
    },
  });
  assert.equal(real.asn?.number, 15169);
  assert.equal(real.threat?.reasons?.includes("bot_asn_mismatch"), false);
  assert.equal(real.labels?.is_bot, true);
  e.close();
});

Deno.test("sentinel: decisions from headers, blocks inferred from status and missing responses", async () => {
  const e = await enricher();
  const hdr = run(e, {
    status: 200,
    headers: {
      "x-sentinel-decision": ["Block"],
      "x-sentinel-risk-score": ["87.5"],
      "x-sentinel-matched-rules": ["942100, 941160", "942100"],
    },
  });
  assert.deepEqual(hdr.sentinel, {
    route_id: "api",
    upstream_id: "backend",
    decision: "block",
    decision_source: "header",
    risk_score: 87.5,
    matched_rules: ["942100", "941160"],
  });
  assert.equal(hdr.labels?.is_blocked, true);
  const status = run(e, { status: 403 });
  assert.equal(status.sentinel?.decision, "block");
  assert.equal(status.sentinel?.decision_source, "inferred_status");
  const none = run(e, { partial: "no_response" });
  assert.equal(none.sentinel?.decision_source, "inferred_no_response");
  const ok = run(e, { status: 200 });
  assert.equal(ok.sentinel?.decision, undefined);
  assert.equal(ok.labels?.is_blocked, false);
  const custom = await enricher({ decisionHeaders: ["X-WAF-Verdict"], blockStatuses: ["4xx"] });
  assert.equal(
    run(custom, { status: 200, headers: { "x-waf-verdict": ["allow"] } }).sentinel?.decision,
    "allow",
  );
  assert.equal(run(custom, { status: 404 }).sentinel?.decision_source, "inferred_status");
  e.close();
  custom.close();
});

Deno.test("derived: path templates, size buckets, UTC time features and labels", async () => {
  const e = await enricher({ slowThresholdMs: 250 });
  const r = run(e, {
    uri: "/users/12345/orders/550e8400-e29b-41d4-a716-446655440000?page=2&sort=asc",
    status: 200,
    upstreamMs: 300,
    timestamp: "2026-03-01T23:59:59.000Z",
    responseHeaders: { "content-length": ["20480"] },
  });
  assert.equal(r.request.path_template, "/users/{int}/orders/{uuid}");
  assert.deepEqual(r.request.query_keys, ["page", "sort"]);
  assert.equal(r.response?.status_class, "2xx");
  assert.equal(r.response?.body_size_bucket, "10-100KiB");
  assert.equal(r.request.hour_of_day, 23);
  assert.equal(r.request.day_of_week, 7, "2026-03-01 is a Sunday");
  assert.equal(r.labels?.is_slow, true);
  assert.equal(run(e, { status: 200, upstreamMs: 10 }).labels?.is_slow, false);
  e.close();
});

Deno.test("pathTemplate() replaces ids, hashes, emails, dates and tokens by typed placeholders", () => {
  const cases: [string, string][] = [
    ["/", "/"],
    ["/api/v2/items", "/api/v2/items"],
    ["/u/42/avatar.png", "/u/{int}/avatar.png"],
    ["/files/5d41402abc4b2a76b9719d911017c592", "/files/{hash}"],
    ["/commits/da39a3ee5e6b4b0d3255bfef95601890afd80709/diff", "/commits/{hash}/diff"],
    ["/users/jane.doe@example.com/profile", "/users/{email}/profile"],
    ["/users/jane.doe%40example.com", "/users/{email}"],
    ["/reports/2026-03-01/daily", "/reports/{date}/daily"],
    ["/archive/20260301", "/archive/{date}"],
    ["/orders/order-1234", "/orders/order-{int}"],
    ["/invoices/42.pdf", "/invoices/{int}.pdf"],
    ["/t/eyJhbGciOiJIUzI1NiJ9x5Y8", "/t/{token}"],
    ["/hosts/192.0.2.10/status", "/hosts/{ip}/status"],
    ["/blog/how-to-build-a-fast-agent-2026", "/blog/how-to-build-a-fast-agent-2026"],
    ["/a//b/", "/a//b/"],
  ];
  for (const [path, t] of cases) assert.equal(pathTemplate(path), t, path);
});

Deno.test("sizeBucket() puts sizes in classes", () => {
  assert.deepEqual(
    [0, 1, 1023, 1024, 10239, 102400, 1048575, 1048576, 50_000_000].map(sizeBucket),
    [
      "0",
      "1B-1KiB",
      "1B-1KiB",
      "1-10KiB",
      "1-10KiB",
      "100KiB-1MiB",
      "100KiB-1MiB",
      "1-10MiB",
      "10MiB+",
    ],
  );
  assert.equal(sizeBucket(undefined), undefined);
});

Deno.test("each enrichment can be switched off", async () => {
  const e = await enricher({
    geoip: false,
    asn: false,
    deviceDetection: false,
    threatIntel: false,
    sentinel: false,
    derived: false,
  });
  const r = run(e, { status: 403, headers: { "user-agent": ["curl/8.0"] }, uri: "/u/1" });
  assert.equal(r.client?.network_type, undefined);
  for (const k of ["geo", "asn", "device", "threat"] as const) assert.equal(r[k], undefined, k);
  assert.equal(r.sentinel?.decision, undefined);
  assert.equal(r.request.path_template, undefined);
  assert.deepEqual(r.labels, { is_error: false });
  await e.configure({
    geoip: false,
    asn: true,
    deviceDetection: true,
    threatIntel: false,
    derived: true,
    reloadIntervalMs: 0,
  });
  const r2 = run(e, { status: 200, headers: { "user-agent": ["curl/8.0"] }, uri: "/u/1" });
  assert.equal(r2.asn?.number, 15169);
  assert.equal(r2.geo, undefined);
  assert.equal(r2.device?.bot_name, "curl");
  assert.equal(r2.request.path_template, "/u/{int}");
  e.close();
});

Deno.test("data named while every data switch is off is loaded when one is switched on", async () => {
  const e = await enricher({ threatLists: [`${FIX}spamhaus-drop.txt`] });
  assert.equal(run(e, { clientIp: "185.220.101.34:1", status: 200 }).threat?.is_tor_exit, false);
  // Switched off with other lists named: nothing to load yet.
  const off = { geoip: false, asn: false, deviceDetection: false, threatIntel: false };
  await e.configure({ ...off, reloadIntervalMs: 0, threatLists: [`${FIX}tor-exit-addresses.txt`] });
  // Switched on again, same lists: they must be the ones in use now.
  const tor = [`${FIX}tor-exit-addresses.txt`];
  await e.configure({ ...off, reloadIntervalMs: 0, threatIntel: true, threatLists: tor });
  const r = run(e, { clientIp: "185.220.101.34:1", status: 200 });
  assert.equal(r.threat?.is_tor_exit, true);
  assert.deepEqual(r.threat?.lists, ["tor-exit-addresses"]);
  e.close();
});
