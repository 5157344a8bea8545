import assert from "node:assert/strict";
import { loadConfigText } from "../../src/config/load.ts";
import type { Config } from "../../src/config/types.ts";
import {
  accessByName,
  neededPermissions,
  permissionFlags,
  sinkHosts,
} from "../../src/permissions.ts";

const SRC = new URL("../../src", import.meta.url).pathname;
const DATA = new URL("../../geo-data", import.meta.url).pathname;

function config(kdl: string): Config {
  return loadConfigText(kdl, "/etc/t/t.kdl").config;
}

/** What kafkajs itself reads (src/permissions.ts SINK_LIBRARY_ENV). */
const KAFKA_LIBRARY_ENV =
  "NODE_ENV,KAFKAJS_LOG_LEVEL,KAFKAJS_DEBUG_PROTOCOL_BUFFERS,KAFKAJS_DEBUG_EXTENDED_PROTOCOL_BUFFERS";

const SINKS = `
socket "/run/t/t.sock"
metrics "127.0.0.1:0"
enrichment { geoip false; asn false; device-detection false; threat-intel false; }
sink "kafka" {
    brokers "k1:9092" "[::1]:9093"
    topic "t"
    sasl-password-env "KAFKA_PASSWORD"
    ca-file "/etc/ssl/k.pem"
    spool { directory "/var/spool/k"; }
}
sink "clickhouse" { url "https://ch.example:8443"; password-env "CH_PASSWORD"; }
sink "http" { url "http://collector.internal/ingest"; }
sink "s3" { bucket "b"; region "eu-west-1"; }
sink "bigquery" { project "p"; credentials-file "/etc/t/gcp.json"; }
`;

Deno.test("permissionFlags() scopes sinks to their hosts, files, spool and env variables", () => {
  assert.deepEqual(permissionFlags(config(SINKS), { compiled: true }), [
    "--allow-read=/etc/t/t.kdl,/run/t,/etc/ssl/k.pem,/var/spool/k,/etc/t/gcp.json",
    "--allow-write=/run/t,/var/spool/k",
    "--allow-net=unix:/run/t/t.sock,127.0.0.1,k1:9092,[::1]:9093,ch.example:8443," +
    "collector.internal:80,b.s3.eu-west-1.amazonaws.com:443,bigquery.googleapis.com:443," +
    "oauth2.googleapis.com:443",
    `--allow-env=KAFKA_PASSWORD,${KAFKA_LIBRARY_ENV},CH_PASSWORD,` +
    "AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,AWS_SESSION_TOKEN",
    "--allow-sys=hostname,setPriority",
  ]);
});

Deno.test("permissionFlags() from source adds read on src/ and geo-data/ only", () => {
  const c = config('socket "/run/t/t.sock"\nmetrics "off"\nsink "file" { directory "/d"; }\n');
  assert.deepEqual(permissionFlags(c, { compiled: true }), [
    "--allow-read=/etc/t/t.kdl,/run/t,/d",
    "--allow-write=/run/t,/d",
    "--allow-net=unix:/run/t/t.sock",
    "--allow-sys=hostname,setPriority",
  ]);
  assert.deepEqual(
    permissionFlags(c, { compiled: false })[0],
    [
      `--allow-read=/etc/t/t.kdl,${SRC},/run/t,${DATA},/d`,
    ][0],
  );
});

Deno.test("permissionFlags() reads the enrichment data and redaction key the config names", () => {
  const c = config('socket "/run/t/t.sock"\nmetrics "off"\nsink "stdout" {}\n');
  Object.assign(c.enrichment, {
    dataDir: "/opt/geo",
    databases: ["/opt/geo/city.mmdb", "/opt/asn.bin"],
    threatLists: ["/opt/tor.txt"],
    hostingAsns: "/opt/hosting.txt",
  });
  (c as unknown as Record<string, unknown>).redaction = {
    hashKeyFile: "/etc/t/hash.key",
    hashKeyEnv: "TELEMETRY_HASH_KEY",
  };
  const flags = permissionFlags(c, { compiled: false });
  assert.equal(
    flags[0],
    `--allow-read=/etc/t/t.kdl,${SRC},/run/t,/opt/geo,/opt/geo/city.mmdb,/opt/asn.bin,` +
      "/opt/tor.txt,/opt/hosting.txt,/etc/t/hash.key",
    "an explicit data-dir replaces the embedded geo-data/",
  );
  assert.ok(flags.includes("--allow-env=TELEMETRY_HASH_KEY"), flags.join(" "));
  const why = neededPermissions(c).find((p) => p.flag === "--allow-env=TELEMETRY_HASH_KEY")?.why;
  assert.equal(why, "redaction.hash-key-env");
});

Deno.test("permissionFlags() with every enricher off needs no enrichment data", () => {
  const c = config(SINKS);
  Object.assign(c.enrichment, { databases: ["/opt/x.mmdb"] });
  assert.ok(!permissionFlags(c, { compiled: false }).join(" ").includes("/opt/x.mmdb"));
  assert.ok(!permissionFlags(c, { compiled: false }).join(" ").includes(DATA));
});

Deno.test("permissionFlags() resolves relative paths against the given cwd", () => {
  const c = config(
    'socket "/run/t/t.sock"\nmetrics "off"\nsink "kafka" { brokers "k:1"; topic "t"; key-file "k.pem"; }\n',
  );
  assert.ok(permissionFlags(c, { compiled: true, cwd: "/srv" })[0].endsWith(",/srv/k.pem"));
});

Deno.test("accessByName() reads sink option names by the documented rule", () => {
  assert.equal(accessByName("password-env"), "env");
  assert.equal(accessByName("passwordEnv"), "env");
  assert.equal(accessByName("ca-file"), "read");
  assert.equal(accessByName("key-path"), "read");
  assert.equal(accessByName("spool-dir"), "readwrite");
  assert.equal(accessByName("directory", true), "readwrite");
  assert.equal(accessByName("directory"), null);
  assert.equal(accessByName("topic"), null);
  assert.equal(accessByName("environment"), null);
  assert.equal(accessByName("path-template"), null);
});

Deno.test("sinkHosts() gives host:port for brokers and URLs, default ports by scheme", () => {
  assert.deepEqual(
    sinkHosts({
      brokers: ["a:9092", "a:9092"],
      url: "https://h.example/x",
      "metadata-url": "http://m.example:8080/",
      endpoint: "wss://w.example",
    }),
    ["a:9092", "h.example:443", "m.example:8080", "w.example:443"],
  );
});

Deno.test("permissionFlags() leaves out an environment variable name that is not one", () => {
  const c = config(
    'socket "/run/t/t.sock"\nmetrics "off"\nsink "kafka" { brokers "k:1"; topic "t"; x-env "A B"; }\n',
  );
  const env = permissionFlags(c).find((f) => f.startsWith("--allow-env="));
  assert.equal(env, `--allow-env=${KAFKA_LIBRARY_ENV}`);
});

Deno.test("permissionFlags() treats an empty data-dir as the embedded geo-data/", () => {
  const c = config('socket "/run/t/t.sock"\nmetrics "off"\nsink "stdout" {}\n');
  Object.assign(c.enrichment, { dataDir: "" });
  assert.ok(permissionFlags(c, { compiled: false })[0].includes(`,${DATA}`));
  assert.ok(!permissionFlags(c, { compiled: true })[0].includes(DATA));
});
