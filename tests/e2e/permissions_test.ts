/**
 * End to end, least privilege: the agent runs through `deno run` with exactly the flags
 * `src/permissions.ts` derives (the build bakes the same ones, less the read on `src/` and
 * `geo-data/` that a binary embeds), does its whole job with them, and refuses at start-up, naming
 * the missing flag, a config that reaches outside them.
 */

import assert from "node:assert/strict";
import { agentPermissions, startAgent } from "../helpers/agent.ts";
import { connectV2 } from "../helpers/proxy_client.ts";
import { requestHeadersEvent, responseHeadersEvent } from "../helpers/proxy_encode.ts";
import { readRecords } from "../helpers/records.ts";
import { effectiveConfig } from "../../src/config/effective.ts";
import { permissionFlags } from "../../src/permissions.ts";

const ROOT = new URL("../../", import.meta.url);
const SRC = new URL("../../src", import.meta.url).pathname;
const DATA = new URL("../../geo-data", import.meta.url).pathname;
const EXIT_TIMEOUT_MS = 20_000;

Deno.test("agent does the full e2e flow with exactly the derived, scoped flags", async () => {
  const config = [
    "enrichment { geoip true; asn true; device-detection true; threat-intel true; }",
    'sink "file" { directory "./unused"; }',
    'sink "stdout" { }',
  ].join("\n");
  await using agent = await startAgent({ config });
  const flags = await agentPermissions({
    config: `${agent.tmpDir}/telemetry.kdl`,
    socket: agent.socketPath,
    "data-dir": agent.dataDir,
    "metrics-listen": "127.0.0.1:0",
  });
  for (const f of flags) assert.match(f, /^--allow-(read|write|net|env|sys)=[^,]+/, f);
  assert.ok(!flags.some((f) => f.startsWith("--allow-run") || f.startsWith("--allow-ffi")));
  const compiled = permissionFlags(
    (await effectiveConfig({
      config: `${agent.tmpDir}/telemetry.kdl`,
      socket: agent.socketPath,
      "data-dir": agent.dataDir,
      "metrics-listen": "127.0.0.1:0",
    })).config,
    { compiled: true },
  );
  assert.equal(
    flags.join(" ").replace(`,${SRC}`, "").replace(`,${DATA}`, ""),
    compiled.join(" "),
    "deno run gets the baked flags plus read on the sources and data a binary embeds",
  );

  const proxy = await connectV2(agent.socketPath, { encodings: ["json"] });
  for (let i = 0; i < 20; i++) {
    const cid = `perm-${i}`;
    await proxy.send("request_headers", requestHeadersEvent(cid, { uri: `/p/${i}` }));
    await proxy.answer(cid);
    await proxy.send("response_headers", responseHeadersEvent(cid, 200));
    await proxy.answer(cid);
  }
  proxy.close();
  const metrics = await agent.metrics();
  assert.equal(metrics.get('telemetry_ingress_events_received_total{type="request_headers"}'), 20);
  assert.equal((await agent.stop()).code, 0);
  const records = await readRecords(agent);
  assert.equal(records.length, 20);
  assert.equal(agent.stdoutText().trim().split("\n").length, 20, "stdout sink got every record");
  const errors = agent.logs().filter((l) =>
    l.level === "error" || /NotCapable/.test(String(l.raw))
  );
  assert.deepEqual(errors, [], "no permission error at any point");
});

/** Derive flags for `granted`, then run the agent on `actual` written to the same file. */
async function runOutside(granted: (dir: string) => string, actual: (dir: string) => string) {
  const dir = await Deno.makeTempDir({ prefix: "telemetry-perm-" });
  const file = `${dir}/telemetry.kdl`;
  await Deno.writeTextFile(file, granted(dir));
  const flags = permissionFlags((await effectiveConfig({ config: file })).config);
  await Deno.writeTextFile(file, actual(dir));
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "main.ts", "run", "--config", file],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), EXIT_TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(out.stderr);
  const logs = stderr.split("\n").filter(Boolean).map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return { raw: l } as Record<string, unknown>;
    }
  });
  const socketCreated = await Deno.stat(`${dir}/run/a.sock`).then(() => true, () => false);
  await Deno.remove(dir, { recursive: true });
  return { code: out.code, logs, stderr, flags, socketCreated };
}

const BASE = (dir: string) =>
  [
    `socket "${dir}/run/a.sock"`,
    'metrics "127.0.0.1:0"',
    `sink "file" { directory "${dir}/data"; }`,
  ].join("\n");

function missingFlags(logs: Record<string, unknown>[]): string[] {
  return logs.filter((l) => typeof l.msg === "string" && l.msg.startsWith("missing permission"))
    .map((l) => String(l.flag));
}

Deno.test("agent refuses a config with an extra sink host, naming --allow-net=host:port", async () => {
  const r = await runOutside(
    BASE,
    (d) => `${BASE(d)}\nsink "kafka" { brokers "extra.invalid:9092"; topic "t"; }`,
  );
  assert.equal(r.code, 1, r.stderr);
  assert.ok(missingFlags(r.logs).includes("--allow-net=extra.invalid:9092"), r.stderr);
  const line = r.logs.find((l) => l.flag === "--allow-net=extra.invalid:9092");
  assert.equal(
    line?.msg,
    "missing permission --allow-net=extra.invalid:9092 (needed for sink kafka)",
  );
  const summary = r.logs.find((l) => String(l.msg).includes("reaches outside the permissions"));
  assert.ok(String(summary?.needed).includes("extra.invalid:9092"), "the full flag set is logged");
  assert.equal(r.socketCreated, false, "refused before claiming the socket");
});

Deno.test("agent refuses a config with a path elsewhere, naming --allow-write=path", async () => {
  const r = await runOutside(
    BASE,
    (d) => `${BASE(d)}\nsink "file" { name "other"; directory "${d}/elsewhere"; }`,
  );
  assert.equal(r.code, 1, r.stderr);
  const missing = missingFlags(r.logs);
  assert.ok(missing.some((f) => /^--allow-write=\/.*\/elsewhere$/.test(f)), r.stderr);
  assert.ok(missing.some((f) => /^--allow-read=\/.*\/elsewhere$/.test(f)), r.stderr);
  assert.equal(missing.length, 2, missing.join(" "));
  assert.equal(r.socketCreated, false);
});

Deno.test("agent refuses a config naming another env variable, naming --allow-env=NAME", async () => {
  const r = await runOutside(
    (d) => `${BASE(d)}\nsink "kafka" { brokers "k.invalid:9092"; topic "t"; }`,
    (d) =>
      `${BASE(d)}\nsink "kafka" { brokers "k.invalid:9092"; topic "t"; ` +
      'sasl-password-env "TELEMETRY_TEST_SECRET"; }',
  );
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(missingFlags(r.logs), ["--allow-env=TELEMETRY_TEST_SECRET"], r.stderr);
});
