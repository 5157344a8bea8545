/**
 * `deno task soak`: the fault suite (tests/faults/) at its real durations — a sink down for
 * 5 minutes, 60 s of 10× overload, longer loads before SIGTERM and kill -9, a million fuzz
 * cases — printing the same table as CI (which runs it shortened). Any FAULTS_* / FUZZ_*
 * variable already set wins. Exit code: the test run's.
 * @module
 */

const LONG: Record<string, string> = {
  FAULTS_OUTAGE_S: "300",
  FAULTS_OVERLOAD_S: "60",
  FAULTS_LOAD_S: "30",
  FAULTS_RATE: "1000",
  FUZZ_CASES: "1000000",
};

const env: Record<string, string> = {};
for (const [k, v] of Object.entries(LONG)) env[k] = Deno.env.get(k) ?? v;
console.log(`soak: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(" ")}`);
const root = new URL("..", import.meta.url).pathname;
const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "tests/faults/", ...Deno.args],
  cwd: root,
  env,
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
const { code } = await child.status;
console.log(`soak: the table is also in ${root}.cache/faults/table.md`);
Deno.exit(code);
