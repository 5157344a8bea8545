import assert from "node:assert/strict";
import {
  buildInfo,
  type BuildStamp,
  DATA_MANIFEST_URL,
  formatVersion,
  STAMP,
  summariseManifest,
} from "../../src/build_info.ts";
import { BUILTIN_DATA_DIR } from "../../src/enrich/settings.ts";
import { EMBEDDED_DATA_URL } from "../../src/permissions.ts";

const STAMPED: BuildStamp = {
  stamped: true,
  version: "0.1.0",
  commit: "0123456789abcdef0123456789abcdef01234567",
  dirty: true,
  date: "2026-01-01T00:00:00.000Z",
  target: "aarch64-unknown-linux-gnu",
  config: "/etc/telemetry/telemetry.kdl",
  workdir: "/var/lib/telemetry",
  permissions: ["--allow-read=/etc/telemetry/telemetry.kdl", "--allow-sys=hostname"],
  data: {
    files: [
      { name: "city.mmdb", sha256: "ab".repeat(32), license: "CC-BY-4.0", source: "db-ip.com" },
    ],
    attributions: ["IP Geolocation by DB-IP (https://db-ip.com)"],
  },
};

Deno.test("STAMP in the work tree is the unstamped one the build replaces", () => {
  assert.equal(STAMP.stamped, false);
  assert.equal(STAMP.commit, null);
  assert.deepEqual(STAMP.permissions, []);
});

Deno.test("formatVersion() prints commit, date, target, baked flags and data attributions", () => {
  const info = { ...buildInfo(STAMPED), data: summariseManifest(STAMPED.data), dataNote: "x" };
  const text = formatVersion(info);
  assert.match(text, /^telemetry 0\.1\.0\n/);
  assert.match(
    text,
    /commit {2}0123456789abcdef0123456789abcdef01234567 \(with uncommitted changes\)/,
  );
  assert.match(text, /built {3}2026-01-01T00:00:00\.000Z for aarch64-unknown-linux-gnu/);
  assert.match(
    text,
    /permissions baked in for \/etc\/telemetry\/telemetry\.kdl:\n {2}--allow-read=/,
  );
  assert.match(text, /city\.mmdb {2}sha256:abababababababab {2}\(CC-BY-4\.0, db-ip\.com\)/);
  assert.match(text, /attributions:\n {2}IP Geolocation by DB-IP \(https:\/\/db-ip\.com\)/);
});

Deno.test("formatVersion() from source says the commit is not stamped", () => {
  const text = formatVersion(buildInfo(STAMP));
  assert.match(text, /commit {2}not stamped \(running from source/);
  assert.doesNotMatch(text, /permissions baked in/);
});

Deno.test("buildInfo() falls back to the stamped manifest when the live one is unreadable", () => {
  const info = buildInfo(STAMPED, { manifest: null, note: "no geo-data/manifest.json" });
  assert.equal(info.dataNote, "as stamped at build time (no geo-data/manifest.json)");
  assert.deepEqual(info.data?.attributions, ["IP Geolocation by DB-IP (https://db-ip.com)"]);
  const live = buildInfo(STAMPED, { manifest: { attributions: ["Live"] }, note: "embedded" });
  assert.deepEqual(live.data?.attributions, ["Live"]);
  assert.equal(live.dataNote, "embedded");
});

Deno.test("summariseManifest() reads files as a list or a map, and attributions", () => {
  assert.deepEqual(
    summariseManifest({
      files: { "asn.bin": { bytes: 10, licence: "PDDL", attribution: "ASN data by X" } },
      attribution: "Top-level credit",
    }),
    {
      files: [{ name: "asn.bin", bytes: 10, license: "PDDL" }],
      attributions: ["ASN data by X", "Top-level credit"],
    },
  );
  assert.deepEqual(summariseManifest([1, 2]), { files: [], attributions: [] });
  assert.deepEqual(summariseManifest({ files: [{ nope: 1 }] }).files, []);
});

Deno.test("the data is read beside the modules, where the build embeds geo-data/", () => {
  assert.equal(DATA_MANIFEST_URL.href, new URL("manifest.json", EMBEDDED_DATA_URL).href);
  assert.equal(EMBEDDED_DATA_URL.href, new URL("../../geo-data/", import.meta.url).href);
  // The enricher's default data, the permissions and `version` use one location, relative to
  // the modules: on disk from source, in the embedded file system in a binary.
  assert.equal(new URL(`file://${BUILTIN_DATA_DIR}`).href, EMBEDDED_DATA_URL.href);
});

Deno.test("main.ts version without read access names the flag that shows the data", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "main.ts", "version"],
    cwd: new URL("../../", import.meta.url),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  assert.match(text, /^telemetry \d+\.\d+\.\d+\n/);
  const dir = new URL("../../geo-data", import.meta.url).pathname;
  assert.ok(
    text.includes(`not readable: run with --allow-read=${dir}\n`) ||
      text.endsWith(`--allow-read=${dir}\n`),
    text,
  );
});
