/**
 * `main.ts lookup` as a process, and `deno task geo` (scripts/fetch-geo-data.ts): idempotent on
 * the real data, and failing clearly without touching the data it had when the registry cannot
 * be reached.
 */
import assert from "node:assert/strict";
import { ensureGeoData, GEO_DATA_DIR } from "./_geo_data.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

async function deno(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("main.ts lookup prints the enrichment of an address and a User-Agent as JSON", async () => {
  await ensureGeoData();
  const r = await deno([
    "run",
    "-A",
    "main.ts",
    "lookup",
    "2001:4860:4860::8888",
    "--ua",
    "curl/8.5.0",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.client.ip_version, 6);
  assert.equal(j.asn.number, 15169);
  assert.equal(j.device.bot_name, "curl");
  assert.ok(j.attribution.includes("IP Geolocation by DB-IP (https://db-ip.com)"));
  const bad = await deno(["run", "-A", "main.ts", "lookup", "not-an-ip"]);
  assert.equal(bad.code, 0, "a malformed address is reported, not a crash");
  assert.equal(JSON.parse(bad.stdout).client.address_kind, "invalid");
  const usage = await deno(["run", "-A", "main.ts", "lookup"]);
  assert.equal(usage.code, 2);
});

Deno.test("deno task geo is idempotent: a second run changes nothing", async () => {
  await ensureGeoData();
  const before = await Deno.readTextFile(`${GEO_DATA_DIR}manifest.json`);
  const r = await deno(["task", "geo"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /up to date/);
  assert.equal(await Deno.readTextFile(`${GEO_DATA_DIR}manifest.json`), before);
});

Deno.test("deno task geo offline fails clearly and keeps the data it had", async () => {
  await ensureGeoData();
  const out = await Deno.makeTempDir();
  await Deno.copyFile(`${GEO_DATA_DIR}manifest.json`, `${out}/manifest.json`);
  await Deno.copyFile(`${GEO_DATA_DIR}hosting-asns.txt`, `${out}/hosting-asns.txt`);
  await Deno.copyFile(`${GEO_DATA_DIR}asn.bin`, `${out}/asn.bin`);
  const before = await Deno.readFile(`${out}/asn.bin`);
  const r = await deno(
    ["run", "-A", "scripts/fetch-geo-data.ts", "--out", out, "--update"],
    {
      npm_config_registry: "http://127.0.0.1:9/",
      npm_config_fetch_retries: "0",
      npm_config_fetch_timeout: "2000",
    },
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /is the npm registry reachable\?/);
  assert.match(r.stderr, /keeping ipldb-asn@/);
  assert.deepEqual(await Deno.readFile(`${out}/asn.bin`), before, "the ASN table is untouched");
  const manifest = JSON.parse(await Deno.readTextFile(`${out}/manifest.json`));
  assert.ok(
    manifest.files.some((f: { path: string }) => f.path === "asn.bin"),
    "kept in the manifest",
  );
  await Deno.remove(out, { recursive: true });
});
