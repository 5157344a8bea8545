/**
 * Makes sure the fetched enrichment data (geo-data/) is present before tests that need it:
 * checks the manifest's files and sha256 (`fetch-geo-data.ts --check`), and runs `deno task geo`
 * when they are missing. Never skips: without data the calling test fails with the fetch's error.
 * Test-only helper.
 * @module
 */

export const GEO_DATA_DIR = new URL("../../geo-data/", import.meta.url).pathname;
const SCRIPT = new URL("../../scripts/fetch-geo-data.ts", import.meta.url).pathname;

let ready: Promise<void> | null = null;

/** Resolve once geo-data/ holds every file its manifest lists (fetching them if needed). */
export function ensureGeoData(): Promise<void> {
  ready ??= (async () => {
    if (await run(["--check"]) === 0) return;
    const code = await run([]);
    if (code !== 0 || await run(["--check"]) !== 0) {
      throw new Error("geo data missing and `deno task geo` failed (see its output above)");
    }
  })();
  return ready;
}

async function run(args: string[]): Promise<number> {
  const flags = ["--allow-read", "--allow-write", "--allow-env", "--allow-run", "--allow-net"];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, SCRIPT, ...args],
    stdout: args.includes("--check") ? "null" : "inherit",
    stderr: "inherit",
  }).output();
  return out.code;
}
