import assert from "node:assert/strict";
import { ConfigError, formatIssue } from "../../src/config/errors.ts";
import { loadConfigText } from "../../src/config/load.ts";
import { mergeProxyConfig } from "../../src/config/proxy_config.ts";
import { ENRICHMENT_DEFAULTS, enrichmentExtrasToJson } from "../../src/config/defaults.ts";
import { resolveEnrichment } from "../../src/enrich/settings.ts";

Deno.test("enrichment config: the product page switches keep their four-key shape", () => {
  const { config } = loadConfigText(
    "enrichment {\n  geoip true\n  asn true\n  device-detection true\n  threat-intel true\n}\n",
    "t.kdl",
  );
  assert.deepEqual(config.enrichment, {
    geoip: true,
    asn: true,
    deviceDetection: true,
    threatIntel: true,
  });
  const s = resolveEnrichment(config.enrichment);
  assert.equal(s.dataDir, new URL("../../geo-data/", import.meta.url).pathname);
  assert.equal(s.uaCacheSize, ENRICHMENT_DEFAULTS.uaCacheSize);
});

Deno.test("enrichment config: data paths, lists, header names and thresholds load", () => {
  const text = `enrichment {
    geoip false
    data-dir "/srv/geo"
    databases ["/srv/GeoLite2-City.mmdb" "/srv/GeoIP2-Anonymous-IP.mmdb"]
    threat-lists "/srv/tor.txt" "/srv/drop.txt"
    hosting-asns "/srv/hosting.txt"
    ua-cache-size 5000
    ip-cache-size 0
    slow-threshold-ms 750
    threat-threshold 40
    decision-headers ["X-WAF-Decision"]
    block-statuses [403 "5xx" "420-429"]
    reload-interval-ms 0
    sentinel false
}`;
  const { config, setKeys } = loadConfigText(text, "t.kdl");
  const e = config.enrichment;
  assert.equal(e.geoip, false);
  assert.deepEqual(e.databases, ["/srv/GeoLite2-City.mmdb", "/srv/GeoIP2-Anonymous-IP.mmdb"]);
  assert.deepEqual(e.threatLists, ["/srv/tor.txt", "/srv/drop.txt"]);
  assert.deepEqual(e.blockStatuses, [403, "5xx", "420-429"]);
  assert.equal(e.ipCacheSize, 0);
  assert.ok(setKeys.has("enrichment.databases"));
  const s = resolveEnrichment(e);
  assert.deepEqual(s.decisionHeaders, ["x-waf-decision"], "header names are lower-cased");
  assert.equal(s.asn, true);
  assert.deepEqual(enrichmentExtrasToJson(e)["block-statuses"], [403, "5xx", "420-429"]);
  assert.equal(enrichmentExtrasToJson(e)["data-dir"], "/srv/geo");
});

Deno.test("enrichment config: bad values are reported with their key and position", () => {
  const text =
    "enrichment {\n  databases\n  ua-cache-size -1\n  block-statuses 700\n  geo-ip true\n}\n";
  try {
    loadConfigText(text, "t.kdl");
    assert.fail("expected issues");
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const lines = e.issues.map(formatIssue).join("\n");
    assert.match(
      lines,
      /t\.kdl:2:3 enrichment\.databases: expects .*got none \(config_wrong_type\)/,
    );
    assert.match(
      lines,
      /t\.kdl:3:3 enrichment\.ua-cache-size: must be between 0 and 10000000, got -1/,
    );
    assert.match(lines, /t\.kdl:4:3 enrichment\.block-statuses: .*700/);
    assert.match(
      lines,
      /t\.kdl:5:3 enrichment\.geo-ip: unknown key \(config_unknown_key\)\n {2}hint: did you mean `geoip`\?/,
    );
  }
});

Deno.test("enrichment config: a proxy may flip switches but never set data paths", () => {
  const loaded = loadConfigText("", "t.kdl");
  const r = mergeProxyConfig(loaded, {
    enrichment: { "slow-threshold-ms": 200, databases: ["/etc/shadow"], derived: false },
  });
  assert.equal(r.config.enrichment.slowThresholdMs, 200);
  assert.equal(r.config.enrichment.derived, false);
  assert.equal(r.config.enrichment.databases, undefined);
  assert.ok(r.ignored.some((i) => i.key === "enrichment.databases"));
});
