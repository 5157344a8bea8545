import assert from "node:assert/strict";
import { smokeRun } from "../../scripts/build/compile.ts";
import { BuildError } from "../../scripts/build/errors.ts";

async function fakeBinary(dir: string, name: string, script: string): Promise<string> {
  const path = `${dir}/${name}`;
  await Deno.writeTextFile(path, `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return path;
}

Deno.test("smokeRun() passes a binary printing its version and commit, and times it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bin = await fakeBinary(dir, "ok", 'printf "telemetry 1.2.3\\ncommit  abc123\\n"');
    const r = await smokeRun(bin, { version: "1.2.3", commit: "abc123" }, 3);
    assert.equal(r.runs, 3);
    assert.ok(r.startupMs > 0 && r.startupMs < 5000, String(r.startupMs));
    assert.match(r.output, /^telemetry 1\.2\.3\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("smokeRun() fails a runtime that is not a denort (the deno CLI answers instead)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const deno = await fakeBinary(
      dir,
      "deno",
      'echo "error: Module not found \\"file:///x/version\\"" >&2; exit 1',
    );
    await assert.rejects(
      smokeRun(deno, { version: "1.2.3", commit: null }, 1),
      (e: unknown) =>
        e instanceof BuildError && e.code === "build_smoke_failed" &&
        e.message.includes("the deno binary is not one") && e.message.includes("Module not found"),
    );
    const stale = await fakeBinary(dir, "stale", 'printf "telemetry 1.2.3\\ncommit  old\\n"');
    await assert.rejects(smokeRun(stale, { version: "1.2.3", commit: "new" }, 1), BuildError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
