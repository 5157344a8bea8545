import assert from "node:assert/strict";
import { packageTarget, sha256Hex } from "../../scripts/build/package.ts";
import { tarGz } from "../../scripts/build/tar.ts";

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `${cmd} ${args.join(" ")}: ${text}`);
  return text;
}

Deno.test("packageTarget() writes a tar.gz that tar extracts and a .sha256 that sha256sum checks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telemetry-pkg-" });
  try {
    const runtime = new Uint8Array(70_001).map((_, i) => i % 251);
    await Deno.writeFile(`${dir}/telemetry`, runtime);
    await Deno.writeTextFile(`${dir}/unit`, "[Service]\n");
    const pkg = await packageTarget({
      outDir: dir,
      version: "9.9.9",
      target: "aarch64-unknown-linux-gnu",
      binary: `${dir}/telemetry`,
      files: [{ path: `${dir}/unit`, name: "packaging/telemetry.service" }],
      buildInfo: { commit: "abc" },
      mtime: new Date("2026-01-02T03:04:05Z"),
    });
    const top = "telemetry-9.9.9-aarch64-unknown-linux-gnu";
    assert.equal(pkg.archive, `${dir}/${top}.tar.gz`);
    assert.equal(
      await run("sha256sum", ["-c", `${top}.tar.gz.sha256`], dir),
      `${top}.tar.gz: OK\n`,
    );
    assert.equal(pkg.sha256, await sha256Hex(await Deno.readFile(pkg.archive)));
    assert.equal(pkg.binarySha256, await sha256Hex(runtime));

    const listing = await run("tar", ["-tvzf", pkg.archive], dir);
    assert.match(
      listing,
      new RegExp(`-rwxr-xr-x root/root +70001 2026-01-02 03:04 ${top}/telemetry`),
    );
    assert.match(listing, new RegExp(`-rw-r--r-- root/root .* ${top}/packaging/telemetry.service`));
    await Deno.mkdir(`${dir}/x`);
    await run("tar", ["-xzf", pkg.archive, "-C", `${dir}/x`], dir);
    assert.deepEqual(await Deno.readFile(`${dir}/x/${top}/telemetry`), runtime);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(`${dir}/x/${top}/BUILD-INFO.json`)), {
      commit: "abc",
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tarGz() gives the same bytes for the same input (reproducible archives)", async () => {
  const entries = [{ name: "a" }, { name: "a/b.txt", data: new TextEncoder().encode("b") }];
  const t = new Date("2026-01-01T00:00:00Z");
  assert.deepEqual(await tarGz(entries, t), await tarGz(entries, t));
  const later = await tarGz(entries, new Date("2026-01-01T00:00:01Z"));
  assert.notDeepEqual(await tarGz(entries, t), later);
});

Deno.test("tarGz() stores a path longer than 100 bytes with the ustar prefix", async () => {
  const dir = await Deno.makeTempDir({ prefix: "telemetry-tar-" });
  try {
    const name = `${"d".repeat(60)}/${"e".repeat(60)}/file.txt`;
    const bytes = await tarGz([{ name, data: new TextEncoder().encode("x") }], new Date(0));
    await Deno.writeFile(`${dir}/t.tar.gz`, bytes);
    assert.equal(await run("tar", ["-tzf", "t.tar.gz"], dir), `${name}\n`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
