/**
 * `deno task bench`: ack latency of the agent under open-loop load, pipeline on vs. ack-only
 * (and, on request, the pipeline with enrichment off).
 *
 * For each rate, runs the agent once per mode and repeat, the modes interleaved (and their order
 * alternated), each against the Go load generator in tests/bench/loadgen (which plays the proxy
 * over the Unix socket, protocol v2/JSON, and measures latency from each frame's SCHEDULED send
 * time). Prints figures as ratios against the ack-only baseline measured in the same run, checks
 * the targets, and writes everything to .cache/bench/results-<timestamp>.json. See
 * docs/benchmarks.md.
 *
 * Exit code: 0 when every target passes, 1 when one fails, 2 when the harness itself fails.
 * @module
 */

import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { RUNTIME_FLAGS } from "../src/runtime_flags.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const CACHE = `${ROOT}/.cache/bench`;
const LOADGEN_SRC = `${ROOT}/tests/bench/loadgen`;
const LOADGEN_BIN = `${CACHE}/loadgen`;
/** The agent runs from its entry point's directory (where its deno.json is). */
function agentDir(agent: string): string {
  return dirname(agent);
}

/** Broad permissions, used only when the agent cannot say what it needs (`main.ts permissions`);
 * Deno 2.9 asks `--allow-net=unix:PATH` for a Unix listener. */
const fallbackPerms = (socket: string) => [
  "--allow-read",
  "--allow-write",
  `--allow-net=127.0.0.1,localhost,unix:${socket}`,
  "--allow-env",
  "--allow-sys=hostname,setPriority",
];

/** The permission flags the agent asks for with these arguments (`main.ts permissions …`), so it
 * runs exactly as narrowly as in production. */
async function agentPerms(agent: string, runArgs: string[], socket: string): Promise<string[]> {
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", agent, "permissions", ...runArgs],
      cwd: agentDir(agent),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const flags = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
    if (out.success && flags.length > 0 && flags.every((f) => f.startsWith("--allow-"))) {
      return flags;
    }
  } catch {
    // fall through
  }
  return fallbackPerms(socket);
}
/** The targets (DESIGN.md principle 1). */
const TARGET_RATE = 20000;
const TARGET_P99_RATIO = 1.25;
const TARGET_P50_US = 100;

const HELP = `Usage: deno task bench [options]

  --rates LIST       lifecycles per second, comma-separated (default 5000,20000,40000)
  --duration D       measured time per run, e.g. 10s (default 10s)
  --warmup D         warm-up before measuring (default 2s)
  --repeat N         runs per mode and rate, modes alternated; medians reported (default 1)
  --modes LIST       some of ack-only,pipeline,pipeline-noenrich (default ack-only,pipeline);
                     pipeline-noenrich is the pipeline with every enrichment off. Ratios
                     need both of ack-only and pipeline, or of pipeline and pipeline-noenrich
  --conns N          proxy connections (default 4)
  --timeout D        call timeout counted against (default 10ms)
  --agent FILE       agent entry point (default main.ts)
  --loadgen-arg A    extra argument for the load generator (repeatable), e.g. -precise
  --keep-data        keep each run's data directory under .cache/bench/data
  -h, --help         this help

Durations accept ms, s or m suffixes. Results: .cache/bench/results-<timestamp>.json.
`;

const MODES = ["ack-only", "pipeline", "pipeline-noenrich"] as const;
type Mode = typeof MODES[number];

/** Modes that run the pipeline (and so write records that must all arrive). */
function isPipeline(mode: Mode): boolean {
  return mode !== "ack-only";
}

/** The config of `pipeline-noenrich`, written by {@link writeNoEnrichConfig}. */
const NOENRICH_CONFIG = `${CACHE}/pipeline-noenrich.kdl`;

/** What each mode adds to the agent's `run` arguments. */
const MODE_ARGS: Readonly<Record<Mode, readonly string[]>> = {
  "ack-only": ["--ack-only"],
  pipeline: [],
  "pipeline-noenrich": ["--config", NOENRICH_CONFIG],
};

/** The default pipeline (file sink, redaction, sampling) with every enrichment switched off. */
const NOENRICH_KDL = `// deno task bench, mode pipeline-noenrich (written by scripts/bench.ts)
enrichment {
    geoip false
    asn false
    device-detection false
    threat-intel false
    sentinel false
    derived false
}
`;

/** Writes the `pipeline-noenrich` config and has the agent validate it, so that an agent that
 * does not know a key fails here, not in every run. */
async function writeNoEnrichConfig(agent: string): Promise<void> {
  await Deno.mkdir(CACHE, { recursive: true });
  await Deno.writeTextFile(NOENRICH_CONFIG, NOENRICH_KDL);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", agent, "validate", "--config", NOENRICH_CONFIG],
    cwd: agentDir(agent),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    throw new Error(`the agent refuses ${NOENRICH_CONFIG}:\n${text.trim()}`);
  }
}

interface Options {
  rates: number[];
  durationMs: number;
  warmupMs: number;
  repeat: number;
  modes: Mode[];
  conns: number;
  timeoutMs: number;
  agent: string;
  loadgenArgs: string[];
  keepData: boolean;
}

/** The load generator's JSON report (the fields this script reads). */
interface Pcts {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p99_9: number;
  max: number;
  mean: number;
}

interface LoadgenReport {
  rate: number;
  lifecycles_total: number;
  events_total: number;
  sent: number;
  events_sent: number;
  answered: number;
  unanswered: number;
  past_timeout: number;
  mismatches: number;
  bad_type: number;
  conn_errors: string[];
  latency_us: Pcts;
  latency_us_request_headers: Pcts;
  latency_us_response_headers: Pcts;
  send_lag_us: Pcts;
  send_rate: number;
  answer_rate: number;
  sender_cpu_s: number;
  wall_s: number;
  /** The agent process over the measured window (-watch-pid). */
  watched?: {
    pid: number;
    cpu_s: number;
    cpu_pct: number;
    threads: { tid: number; name: string; cpu_pct: number; wait_pct: number }[];
    vm_hwm_mib: number;
    vm_rss_mib: number;
    error?: string;
  };
  [key: string]: unknown;
}

interface AgentFigures {
  pid: number;
  exitCode: number | null;
  exitSignal: string | null;
  stopMs: number;
  warnings: string[];
}

interface Trial {
  rate: number;
  mode: Mode;
  repeat: number;
  startedAt: string;
  /** 1-minute load average before and after the run: other work on the machine. */
  loadavg: number[];
  permissions: string[];
  loadgen: LoadgenReport | null;
  agent: AgentFigures | null;
  metrics: Record<string, number>;
  recordsWritten: number | null;
  partFiles: number;
  lost: number | null;
  error: string | null;
}

// ---------------------------------------------------------------------------------------------
// Options

function duration(text: string, name: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${name} must be a duration like 500ms, 10s or 1m: got "${text}"`);
  const v = Number(m[1]);
  return m[2] === "ms" ? v : m[2] === "m" ? v * 60_000 : v * 1000;
}

class UsageError extends Error {}

function parseOptions(args: string[]): Options | null {
  const { values } = parseArgs({
    args,
    options: {
      rates: { type: "string", default: "5000,20000,40000" },
      duration: { type: "string", default: "10s" },
      warmup: { type: "string", default: "2s" },
      repeat: { type: "string", default: "1" },
      modes: { type: "string", default: "ack-only,pipeline" },
      conns: { type: "string", default: "4" },
      timeout: { type: "string", default: "10ms" },
      agent: { type: "string", default: "main.ts" },
      "loadgen-arg": { type: "string", multiple: true, default: [] },
      "keep-data": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return null;
  const rates = values.rates.split(",").map((s) => Number(s.trim()));
  if (rates.some((r) => !Number.isFinite(r) || r <= 0)) {
    throw new UsageError(`--rates must be positive numbers: got "${values.rates}"`);
  }
  const modes = values.modes.split(",").map((s) => s.trim());
  for (const m of modes) {
    if (!(MODES as readonly string[]).includes(m)) {
      throw new UsageError(`--modes must list some of ${MODES.join(", ")}: got "${m}"`);
    }
  }
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1) {
    throw new UsageError(`--repeat must be an integer >= 1: got "${values.repeat}"`);
  }
  const conns = Number(values.conns);
  if (!Number.isInteger(conns) || conns < 1 || conns > 255) {
    throw new UsageError(`--conns must be an integer in 1..255: got "${values.conns}"`);
  }
  return {
    rates,
    durationMs: duration(values.duration, "duration"),
    warmupMs: duration(values.warmup, "warmup"),
    repeat,
    modes: modes as Mode[],
    conns,
    timeoutMs: duration(values.timeout, "timeout"),
    agent: resolve(Deno.cwd(), values.agent),
    loadgenArgs: values["loadgen-arg"],
    keepData: values["keep-data"],
  };
}

// ---------------------------------------------------------------------------------------------
// Load generator

async function mtime(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? 0;
  } catch {
    return -1; // missing
  }
}

async function buildLoadgen(): Promise<void> {
  const bin = await mtime(LOADGEN_BIN);
  const src = Math.max(
    await mtime(`${LOADGEN_SRC}/main.go`),
    await mtime(`${LOADGEN_SRC}/go.mod`),
  );
  if (bin >= src && bin > 0) return;
  console.log("building the load generator (go build)…");
  await Deno.mkdir(CACHE, { recursive: true });
  const out = await new Deno.Command("go", {
    args: ["build", "-o", LOADGEN_BIN, "."],
    cwd: LOADGEN_SRC,
    env: { CGO_ENABLED: "0" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("go build of tests/bench/loadgen failed (see above)");
}

async function runLoadgen(
  opts: Options,
  socket: string,
  rate: number,
  agentPid: number,
  jsonOut: string,
): Promise<LoadgenReport> {
  const args = [
    "-socket",
    socket,
    "-rate",
    String(rate),
    "-duration",
    `${opts.durationMs}ms`,
    "-warmup",
    `${opts.warmupMs}ms`,
    "-conns",
    String(opts.conns),
    "-timeout",
    `${opts.timeoutMs}ms`,
    "-json-out",
    jsonOut,
    "-watch-pid",
    String(agentPid),
    ...opts.loadgenArgs,
  ];
  const out = await new Deno.Command(LOADGEN_BIN, { args, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`load generator failed (exit ${out.code}): ${err || text}`);
  }
  for (const line of text.split("\n")) console.log(`    ${line}`);
  return JSON.parse(await Deno.readTextFile(jsonOut)) as LoadgenReport;
}

// ---------------------------------------------------------------------------------------------
// Agent process

const ANSI = new RegExp(String.fromCharCode(27) + "\\[[0-9;]*m", "g");

/** Reads the agent's stderr line by line (it must be drained, or the agent blocks on it). */
class LogReader {
  readonly warnings: string[] = [];
  #ready: Promise<Record<string, unknown>>;
  #tail: string[] = [];
  done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    let resolve!: (v: Record<string, unknown>) => void;
    let reject!: (e: Error) => void;
    this.#ready = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.done = this.#pump(stream, resolve).then(() =>
      reject(new Error(`agent exited before "agent ready":\n${this.#tail.join("\n")}`))
    );
    // Both are awaited on some paths only; never let them become unhandled rejections.
    this.#ready.catch(() => {});
    this.done.catch(() => {});
  }

  ready(timeoutMs: number): Promise<Record<string, unknown>> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(
        () => rej(new Error(`no "agent ready" within ${timeoutMs} ms:\n${this.#tail.join("\n")}`)),
        timeoutMs,
      );
    });
    return Promise.race([this.#ready, timeout]).finally(() => clearTimeout(timer));
  }

  async #pump(
    stream: ReadableStream<Uint8Array>,
    onReady: (v: Record<string, unknown>) => void,
  ): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    for await (const chunk of stream) {
      rest += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        this.#line(rest.slice(0, nl), onReady);
        rest = rest.slice(nl + 1);
      }
    }
    if (rest) this.#line(rest, onReady);
  }

  #line(raw: string, onReady: (v: Record<string, unknown>) => void): void {
    // deno's own errors come coloured
    const line = raw.replace(ANSI, "");
    if (!line.trim()) return;
    this.#tail.push(line);
    if (this.#tail.length > 30) this.#tail.shift();
    let obj: Record<string, unknown> | null = null;
    try {
      const v = JSON.parse(line);
      if (v && typeof v === "object") obj = v as Record<string, unknown>;
    } catch {
      // not a JSON log line (e.g. a panic or a Deno warning): keep it as a warning
    }
    if (obj?.msg === "agent ready") onReady(obj);
    const level = obj?.level;
    if ((!obj || level === "warn" || level === "error") && this.warnings.length < 50) {
      this.warnings.push(line.length > 500 ? `${line.slice(0, 500)}…` : line);
    }
  }
}

async function scrape(address: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  try {
    const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await res.text();
    for (const line of text.split("\n")) {
      if (!line.startsWith("telemetry_")) continue;
      const sp = line.lastIndexOf(" ");
      const v = Number(line.slice(sp + 1));
      if (Number.isFinite(v)) out[line.slice(0, sp)] = v;
    }
  } catch (e) {
    out["bench_scrape_failed"] = 1;
    console.log(`    metrics scrape failed: ${e instanceof Error ? e.message : e}`);
  }
  return out;
}

async function countRecords(dir: string): Promise<{ lines: number; parts: number }> {
  let lines = 0;
  let parts = 0;
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".part")) parts++;
      else if (e.isFile && e.name.endsWith(".ndjson")) lines += await countLines(p);
    }
  };
  try {
    await walk(dir);
  } catch {
    // no directory: nothing written
  }
  return { lines, parts };
}

async function countLines(path: string): Promise<number> {
  using f = await Deno.open(path);
  const buf = new Uint8Array(1 << 20);
  let n = 0;
  for (;;) {
    const r = await f.read(buf);
    if (r === null) break;
    for (let i = 0; i < r; i++) if (buf[i] === 10) n++;
  }
  return n;
}

const live = new Set<Deno.ChildProcess>();

async function waitExit(
  child: Deno.ChildProcess,
  ms: number,
): Promise<Deno.CommandStatus | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<null>((res) => timer = setTimeout(() => res(null), ms));
  const s = await Promise.race([child.status, t]);
  clearTimeout(timer);
  return s;
}

async function runTrial(opts: Options, rate: number, mode: Mode, repeat: number): Promise<Trial> {
  const trial: Trial = {
    rate,
    mode,
    repeat,
    startedAt: new Date().toISOString(),
    loadavg: [Deno.loadavg()[0]],
    permissions: [],
    loadgen: null,
    agent: null,
    metrics: {},
    recordsWritten: null,
    partFiles: 0,
    lost: null,
    error: null,
  };
  const sockDir = await Deno.makeTempDir({ prefix: "telemetry-bench-" }); // short socket path
  const socket = `${sockDir}/agent.sock`;
  const dataDir = `${CACHE}/data/${rate}-${mode}-${repeat}-${Date.now()}`;
  await Deno.mkdir(dataDir, { recursive: true });
  const runArgs = ["--socket", socket, "--data-dir", dataDir, "--metrics-listen", "127.0.0.1:0"];
  runArgs.push(...MODE_ARGS[mode]);
  const perms = await agentPerms(opts.agent, runArgs, socket);
  trial.permissions = perms;
  const args = ["run", ...RUNTIME_FLAGS, ...perms, opts.agent, "run", ...runArgs];
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: agentDir(opts.agent),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  live.add(child);
  const logs = new LogReader(child.stderr);
  try {
    const ready = await logs.ready(60_000);
    const metricsAddr = String(ready.metrics ?? "");
    try {
      // The load generator also reads the agent's CPU and memory from /proc (Deno would need
      // --allow-all for /proc/PID).
      trial.loadgen = await runLoadgen(opts, socket, rate, child.pid, `${sockDir}/loadgen.json`);
    } catch (e) {
      trial.error = e instanceof Error ? e.message : String(e);
    }
    if (metricsAddr && metricsAddr !== "off") trial.metrics = await scrape(metricsAddr);
    const stopStart = performance.now();
    child.kill("SIGTERM");
    let exit = await waitExit(child, 120_000);
    if (!exit) {
      trial.error ??= "agent did not exit within 120 s of SIGTERM; killed";
      child.kill("SIGKILL");
      exit = await child.status;
    }
    await logs.done.catch(() => {});
    trial.agent = {
      pid: child.pid,
      exitCode: exit.code,
      exitSignal: exit.signal,
      stopMs: Math.round(performance.now() - stopStart),
      warnings: logs.warnings,
    };
    if (exit.code !== 0 && exit.signal === null) {
      trial.error ??= `agent exited with code ${exit.code} after SIGTERM`;
    }
    const { lines, parts } = await countRecords(dataDir);
    trial.recordsWritten = lines;
    trial.partFiles = parts;
    if (isPipeline(mode) && trial.loadgen) trial.lost = trial.loadgen.lifecycles_total - lines;
  } catch (e) {
    trial.error = e instanceof Error ? e.message : String(e);
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
  } finally {
    trial.loadavg.push(Deno.loadavg()[0]);
    live.delete(child);
    await Deno.remove(sockDir, { recursive: true }).catch(() => {});
    if (!opts.keepData) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
  return trial;
}

// ---------------------------------------------------------------------------------------------
// Summary

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface ModeSummary {
  mode: Mode;
  runs: number;
  failedRuns: number;
  sendRate: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  pastTimeout: number;
  unanswered: number;
  mismatches: number;
  lost: number | null;
  /** Records beyond the lifecycles sent (duplicates). */
  extra: number | null;
  records: number | null;
  cpuPct: number;
  mainThreadPct: number;
  mainWaitPct: number;
  rssMiB: number;
  hwmMiB: number;
  sendLagP50: number;
  sendLagP99: number;
  loadgenCpuPct: number;
}

function summarize(trials: Trial[], mode: Mode): ModeSummary | null {
  const ts = trials.filter((t) => t.mode === mode);
  if (ts.length === 0) return null;
  const ok = ts.filter((t) => t.loadgen && t.agent);
  const lg = (f: (r: LoadgenReport) => number) => median(ok.map((t) => f(t.loadgen!)));
  type Watched = NonNullable<LoadgenReport["watched"]>;
  const ag = (f: (w: Watched) => number) =>
    median(ok.filter((t) => t.loadgen!.watched).map((t) => f(t.loadgen!.watched!)));
  const sum = (f: (t: Trial) => number) => ok.reduce((s, t) => s + f(t), 0);
  return {
    mode,
    runs: ts.length,
    failedRuns: ts.length - ok.length,
    sendRate: lg((r) => r.send_rate),
    p50: lg((r) => r.latency_us.p50),
    p99: lg((r) => r.latency_us.p99),
    p999: lg((r) => r.latency_us.p99_9),
    max: lg((r) => r.latency_us.max),
    pastTimeout: lg((r) => r.past_timeout),
    unanswered: sum((t) => t.loadgen!.unanswered),
    mismatches: sum((t) => t.loadgen!.mismatches + t.loadgen!.bad_type),
    lost: isPipeline(mode) ? sum((t) => Math.max(t.lost ?? 0, 0)) : null,
    extra: isPipeline(mode) ? sum((t) => Math.max(-(t.lost ?? 0), 0)) : null,
    records: isPipeline(mode) ? median(ok.map((t) => t.recordsWritten ?? 0)) : null,
    cpuPct: ag((w) => w.cpu_pct),
    mainThreadPct: ag((w) => w.threads.find((t) => t.tid === w.pid)?.cpu_pct ?? 0),
    mainWaitPct: ag((w) => w.threads.find((t) => t.tid === w.pid)?.wait_pct ?? 0),
    rssMiB: ag((w) => w.vm_rss_mib),
    hwmMiB: ag((w) => w.vm_hwm_mib),
    sendLagP50: lg((r) => r.send_lag_us.p50),
    sendLagP99: lg((r) => r.send_lag_us.p99),
    loadgenCpuPct: lg((r) => r.sender_cpu_s / r.wall_s * 100),
  };
}

/** "file: 60 writes, mean 91 ms" from the sinks' request-duration histograms. */
function sinkTimes(metrics: Record<string, number>): string {
  const out: string[] = [];
  for (const [k, count] of Object.entries(metrics)) {
    const m = /^telemetry_sink_request_duration_seconds_count\{sink="([^"]+)"\}$/.exec(k);
    if (!m || count === 0) continue;
    const sum = metrics[`telemetry_sink_request_duration_seconds_sum{sink="${m[1]}"}`] ?? NaN;
    out.push(`sink ${m[1]}: ${count} writes, mean ${(sum / count * 1000).toFixed(1)} ms`);
  }
  return out.join("; ");
}

function pad(s: string | number, n: number, left = false): string {
  const t = String(s);
  return left ? t.padEnd(n) : t.padStart(n);
}

function fmt(x: number | null, digits = 0): string {
  if (x === null || Number.isNaN(x)) return "-";
  return x.toFixed(digits);
}

interface Verdict {
  rate: number;
  /** pipeline p99 / ack-only p99. */
  ratio: number | null;
  /** pipeline p99 / pipeline-noenrich p99; only when pipeline-noenrich was asked for. */
  enrichRatio?: number | null;
  p50: number | null;
  checks: { name: string; pass: boolean; detail: string }[];
}

/**
 * Prints `LABEL p99 = X.XX×` (p99 of `num` over `den`) and returns the ratio; at the target rate
 * with the target and a check named `name`, which fails without figures from both modes.
 */
function p99Ratio(
  v: Verdict,
  { name, label, num, den }: {
    name: string;
    label: string;
    num: ModeSummary | undefined;
    den: ModeSummary | undefined;
  },
): number | null {
  const atTarget = v.rate === TARGET_RATE;
  if (num && den && den.p99 > 0 && Number.isFinite(num.p99)) {
    const ratio = num.p99 / den.p99;
    const pass = ratio <= TARGET_P99_RATIO;
    const tgt = atTarget ? `  (target ≤ ${TARGET_P99_RATIO}×)${pass ? "  PASS" : "  FAIL"}` : "";
    console.log(`${label} p99 = ${ratio.toFixed(2)}×${tgt}`);
    if (atTarget) v.checks.push({ name, pass, detail: `${ratio.toFixed(2)}×` });
    return ratio;
  }
  if (atTarget) {
    console.log(`${label} p99: no figures from both modes  FAIL`);
    v.checks.push({ name, pass: false, detail: "no figures from both modes" });
  }
  return null;
}

function printRate(opts: Options, rate: number, trials: Trial[]): Verdict {
  const rs = trials.filter((t) => t.rate === rate);
  const med = opts.repeat > 1 ? `, median of ${opts.repeat}` : "";
  console.log(
    `\n== ${rate}/s lifecycles (${2 * rate} frames/s), ${opts.durationMs / 1000}s measured after ` +
      `${opts.warmupMs / 1000}s warm-up, ${opts.conns} connections${med}`,
  );
  // The mode column fits the longest mode asked for (9 wide by default, as it always was).
  const modeWidth = Math.max(9, ...opts.modes.map((m) => m.length + 1));
  console.log(
    pad("mode", modeWidth, true) + pad("rate/s", 9) + pad("p50 µs", 8) + pad("p99 µs", 9) +
      pad("p99.9 µs", 10) + pad(`>${opts.timeoutMs}ms`, 8) + pad("unans", 7) +
      pad("CPU %", 7) + pad("main %", 7) + pad("wait %", 7) + pad("RSS MiB", 8) +
      pad("HWM MiB", 8) + pad("records", 9) + pad("lost", 8),
  );
  const sums: ModeSummary[] = [];
  for (const mode of opts.modes) {
    const s = summarize(rs, mode);
    if (!s) continue;
    sums.push(s);
    console.log(
      pad(mode, modeWidth, true) + pad(fmt(s.sendRate, 0), 9) + pad(fmt(s.p50), 8) +
        pad(fmt(s.p99), 9) + pad(fmt(s.p999), 10) + pad(fmt(s.pastTimeout), 8) +
        pad(s.unanswered, 7) + pad(fmt(s.cpuPct, 1), 7) + pad(fmt(s.mainThreadPct, 1), 7) +
        pad(fmt(s.mainWaitPct, 1), 7) + pad(fmt(s.rssMiB), 8) + pad(fmt(s.hwmMiB), 8) +
        pad(fmt(s.records), 9) + pad(fmt(s.lost), 8),
    );
  }
  for (const t of rs) {
    for (const line of t.error?.split("\n").slice(0, 4) ?? []) {
      console.log(`  ! ${t.mode} run ${t.repeat}: ${line.slice(0, 300)}`);
    }
    if (t.partFiles > 0) {
      console.log(`  ! ${t.mode} run ${t.repeat}: ${t.partFiles} .part file(s) left`);
    }
    if (t.loadgen && t.loadgen.conn_errors.length > 0) {
      console.log(`  ! ${t.mode} run ${t.repeat}: ${t.loadgen.conn_errors.join("; ")}`);
    }
    for (const w of t.agent?.warnings.slice(0, 3) ?? []) {
      console.log(`  ! ${t.mode} run ${t.repeat} agent log: ${w.slice(0, 200)}`);
    }
    const drops = Object.entries(t.metrics).filter(([k, v]) =>
      v > 0 && k.includes("dropped") && !k.includes(`reason="ack_only"`)
    );
    if (drops.length > 0) {
      const list = drops.slice(0, 4).map(([k, v]) => `${k} ${v}`).join(", ");
      console.log(`  ! ${t.mode} run ${t.repeat} at end of load: ${list}`);
    }
    const sinks = sinkTimes(t.metrics);
    if (sinks) console.log(`  · ${t.mode} run ${t.repeat}: ${sinks}`);
  }
  const ack = sums.find((s) => s.mode === "ack-only");
  const pipe = sums.find((s) => s.mode === "pipeline");
  const v: Verdict = { rate, ratio: null, p50: null, checks: [] };
  const check = (name: string, pass: boolean, detail: string) => {
    v.checks.push({ name, pass, detail });
  };
  const atTarget = rate === TARGET_RATE;
  v.ratio = p99Ratio(v, { name: "p99 ratio", label: "pipeline/ack-only", num: pipe, den: ack });
  if (opts.modes.includes("pipeline-noenrich")) {
    const off = sums.find((s) => s.mode === "pipeline-noenrich");
    v.enrichRatio = p99Ratio(v, {
      name: "enrichment p99 ratio",
      label: "enrichment on/off",
      num: pipe,
      den: off,
    });
  }
  // The p50 target is the pipeline's (the ack-only figure when only that mode ran).
  const main = pipe ?? ack;
  if (main && !Number.isFinite(main.p50)) {
    console.log(`p50: no figures (${main.mode})${atTarget ? "  FAIL" : ""}`);
    if (atTarget) check("p50", false, "no figures");
  } else if (main) {
    v.p50 = main.p50;
    const pass = main.p50 < TARGET_P50_US;
    const tgt = atTarget ? `  (target < ${TARGET_P50_US})${pass ? "  PASS" : "  FAIL"}` : "";
    console.log(`p50 = ${fmt(main.p50)} µs (${main.mode})${tgt}`);
    if (atTarget) check("p50", pass, `${fmt(main.p50)} µs`);
  }
  for (const s of sums) {
    const bad = s.unanswered + s.mismatches + (s.lost ?? 0) + (s.extra ?? 0) + s.failedRuns;
    const parts = [
      `${s.unanswered} unanswered`,
      `${s.mismatches} bad answers`,
      ...(s.lost !== null ? [`${s.lost} lost`] : []),
      ...(s.extra ? [`${s.extra} records more than lifecycles sent`] : []),
      ...(s.failedRuns ? [`${s.failedRuns} failed runs`] : []),
    ];
    check(`${s.mode} complete`, bad === 0, parts.join(", "));
    if (bad !== 0) console.log(`${s.mode}: ${parts.join(", ")}  FAIL`);
    if (s.pastTimeout > 0) {
      console.log(
        `${s.mode}: ${fmt(s.pastTimeout)} answers past ${opts.timeoutMs} ms  WARN ` +
          `(the proxy would have given up on them)`,
      );
    }
  }
  const lg = sums.map((s) =>
    `${s.mode} ${fmt(s.sendLagP50)}/${fmt(s.sendLagP99)} µs, ${fmt(s.loadgenCpuPct)}%`
  );
  console.log(
    `load generator send lag p50/p99 (part of every latency above), CPU: ${lg.join("; ")}`,
  );
  const loads = rs.flatMap((t) => t.loadavg);
  console.log(
    `machine load average (1 min) during these runs: ${Math.min(...loads).toFixed(1)}–` +
      `${Math.max(...loads).toFixed(1)} (${navigator.hardwareConcurrency} CPUs)`,
  );
  return v;
}

// ---------------------------------------------------------------------------------------------

async function environment(): Promise<Record<string, unknown>> {
  const cmd = async (c: string, args: string[]) => {
    try {
      const o = await new Deno.Command(c, { args, stdout: "piped", stderr: "null", cwd: ROOT })
        .output();
      return new TextDecoder().decode(o.stdout).trim();
    } catch {
      return null;
    }
  };
  return {
    deno: Deno.version.deno,
    go: await cmd("go", ["version"]),
    git: await cmd("git", ["rev-parse", "--short", "HEAD"]),
    cpus: navigator.hardwareConcurrency,
    kernel: Deno.osRelease(),
    loadavg: Deno.loadavg(),
  };
}

async function main(args: string[]): Promise<number> {
  let opts: Options | null;
  try {
    opts = parseOptions(args);
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : e}\n\n${HELP}`);
    return 2;
  }
  if (!opts) {
    console.log(HELP);
    return 0;
  }
  const stop = () => {
    for (const c of live) {
      try {
        c.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);

  await buildLoadgen();
  if (opts.modes.includes("pipeline-noenrich")) await writeNoEnrichConfig(opts.agent);
  const env = await environment();
  const load1 = Deno.loadavg()[0];
  if (load1 > 0.5) {
    console.log(
      `note: load average ${load1} before starting: other work on the machine adds noise`,
    );
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const trials: Trial[] = [];
  const verdicts: Verdict[] = [];
  for (const rate of opts.rates) {
    for (let r = 1; r <= opts.repeat; r++) {
      // Alternate the order so drift over time does not favour one mode.
      const order = r % 2 === 1 ? opts.modes : [...opts.modes].reverse();
      for (const mode of order) {
        console.log(`  ${rate}/s ${mode} run ${r}/${opts.repeat}`);
        trials.push(await runTrial(opts, rate, mode, r));
        await new Promise((res) => setTimeout(res, 1000)); // let the machine settle
      }
    }
    verdicts.push(printRate(opts, rate, trials));
  }
  const knee = opts.rates.filter((r) => {
    const v = verdicts.find((x) => x.rate === r);
    return v?.ratio !== null && v?.ratio !== undefined && v.ratio <= TARGET_P99_RATIO;
  });
  const checks = verdicts.flatMap((v) => v.checks.map((c) => ({ rate: v.rate, ...c })));
  const failed = checks.filter((c) => !c.pass);
  console.log("");
  if (knee.length > 0) {
    console.log(
      `knee: highest rate with pipeline p99 within ${TARGET_P99_RATIO}× of ack-only: ` +
        `${Math.max(...knee)}/s`,
    );
  }
  console.log(
    failed.length === 0
      ? "all targets PASS"
      : `FAIL: ${failed.map((c) => `${c.rate}/s ${c.name} (${c.detail})`).join("; ")}`,
  );
  env.loadavgEnd = Deno.loadavg();
  const file = `${CACHE}/results-${stamp}.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify(
      {
        options: opts,
        environment: env,
        targets: { rate: TARGET_RATE, p99Ratio: TARGET_P99_RATIO, p50Us: TARGET_P50_US },
        summary: opts.rates.map((rate) => ({
          rate,
          modes: opts.modes.map((m) => summarize(trials.filter((t) => t.rate === rate), m)),
          verdict: verdicts.find((v) => v.rate === rate),
        })),
        checks,
        trials,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`results: ${file.replace(`${ROOT}/`, "")}`);
  return failed.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error(`bench: ${e instanceof Error ? e.stack ?? e.message : e}`);
    Deno.exit(2);
  }
}
