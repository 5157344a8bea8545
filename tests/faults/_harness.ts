/**
 * The fault suite's tools: durations from the environment (short in CI, real in `deno task
 * soak`), a steady-rate proxy load that remembers when each event was acked, the agent's RSS
 * sampled from /proc, figures from /metrics (ack p99 from the histogram, drops by reason), and
 * the table every scenario adds its row to.
 * Test-only helper.
 * @module
 */

import type { V2Client } from "../helpers/proxy_client.ts";
import { requestHeadersEvent, responseHeadersEvent } from "../helpers/proxy_encode.ts";
import { type AgentProcess, sumOf } from "../helpers/agent.ts";

/** A number from the environment, or `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const v = Deno.env.get(name);
  return v === undefined || v === "" || !Number.isFinite(Number(v)) ? fallback : Number(v);
}

/** The suite's knobs. CI defaults; `deno task soak` sets the long ones. */
export const KNOBS = {
  /** Scenario 1: how long the sink is down (s). The promise says 5 minutes; CI 30 s. */
  outageS: envNumber("FAULTS_OUTAGE_S", 30),
  /** Scenario 4: how long the 10× overload lasts (s). */
  overloadS: envNumber("FAULTS_OVERLOAD_S", 10),
  /** Steady input for scenarios 1–3, 5 (lifecycles/s; 2 events each). */
  rate: envNumber("FAULTS_RATE", 500),
  /** Scenario 4 input (lifecycles/s). */
  overloadRate: envNumber("FAULTS_OVERLOAD_RATE", 2000),
  /** Load time before a SIGTERM / kill -9 (s). */
  loadS: envNumber("FAULTS_LOAD_S", 8),
  /** RSS the agent must stay under (MiB). */
  rssCapMiB: envNumber("FAULTS_RSS_CAP_MIB", 512),
  /** Fuzz cases in the suite's malformed-input row. */
  fuzzCases: envNumber("FUZZ_CASES", 100_000),
};

/** One row of the table. */
export interface Row {
  scenario: string;
  eventsIn: number;
  delivered: number;
  sampledOut: number;
  dropped: Record<string, number>;
  lost: number;
  /** For the kill -9 row: the bound and what the agent reported. */
  lostNote?: string;
  maxRssMiB: number;
  ackP99Ms: number | null;
  ackP99Ratio: number | null;
}

const rows: Row[] = [];

/** Add a row (printed by `printTable`). */
export function addRow(row: Row): void {
  rows.push(row);
  console.log(`\n${formatTable([row])}`);
}

/** The rows so far. */
export function tableRows(): readonly Row[] {
  return rows;
}

/** The table as text. */
export function formatTable(rs: readonly Row[]): string {
  const head = [
    "scenario",
    "events in",
    "delivered",
    "sampled out",
    "dropped (by reason)",
    "lost",
    "max RSS MiB",
    "ack p99 ms",
    "p99 ratio",
  ];
  const body = rs.map((r) => [
    r.scenario,
    String(r.eventsIn),
    String(r.delivered),
    String(r.sampledOut),
    Object.entries(r.dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ") ||
    "0",
    r.lostNote === undefined ? String(r.lost) : `${r.lost} (${r.lostNote})`,
    r.maxRssMiB > 0 ? r.maxRssMiB.toFixed(0) : "-",
    r.ackP99Ms === null ? "-" : r.ackP99Ms.toFixed(3),
    r.ackP99Ratio === null ? "-" : r.ackP99Ratio.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

/** Print the whole table and keep it in `.cache/faults/table.md`. */
export async function printTable(): Promise<void> {
  const text = formatTable(rows);
  console.log(`\nFault suite (${new Date().toISOString()}):\n${text}\n`);
  const dir = new URL("../../.cache/faults/", import.meta.url);
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(new URL("table.md", dir), text + "\n");
}

/**
 * Sends lifecycles `<prefix><i>` (request + response headers) at a steady rate on one
 * connection, a chunk every 10 ms, without waiting for answers, and remembers when each answer
 * arrived (to 10 ms) so a test can tell which events were acked when.
 */
export class SteadyLoad {
  readonly #c: V2Client;
  readonly #prefix: string;
  readonly #rate: number;
  #sent = 0;
  #stopped = false;
  #done: Promise<void> | undefined;
  /** (time, answers so far) every tick: answered[i] arrived by the first tick with count > i. */
  readonly #marks: { t: number; n: number }[] = [];
  error: string | null = null;

  constructor(c: V2Client, prefix: string, ratePerSecond: number) {
    this.#c = c;
    this.#prefix = prefix;
    this.#rate = ratePerSecond;
  }

  get lifecyclesSent(): number {
    return this.#sent;
  }

  /** Events answered so far. */
  get acked(): number {
    return this.#c.answered.length;
  }

  start(): void {
    this.#done = this.#run();
  }

  /** Stop sending; resolves once the loop ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
    this.#mark();
  }

  /** Correlation id → time (performance.now) its last answer arrived, for answered events. */
  ackTimes(): Map<string, number> {
    const out = new Map<string, number>();
    const answered = this.#c.answered;
    let m = 0;
    for (let i = 0; i < answered.length; i++) {
      while (m < this.#marks.length - 1 && this.#marks[m].n <= i) m++;
      out.set(answered[i], this.#marks[m]?.t ?? performance.now());
    }
    return out;
  }

  /** Answers per correlation id (2 = both events acked). */
  ackCounts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const cid of this.#c.answered) out.set(cid, (out.get(cid) ?? 0) + 1);
    return out;
  }

  #mark(): void {
    this.#marks.push({ t: performance.now(), n: this.#c.answered.length });
  }

  async #run(): Promise<void> {
    const t0 = performance.now();
    while (!this.#stopped) {
      const due = Math.floor(((performance.now() - t0) / 1000) * this.#rate);
      const frames: Uint8Array[] = [];
      for (; this.#sent < due; this.#sent++) {
        const cid = `${this.#prefix}${this.#sent}`;
        frames.push(this.#c.eventFrame("request_headers", requestHeadersEvent(cid), cid));
        frames.push(this.#c.eventFrame("response_headers", responseHeadersEvent(cid), cid));
      }
      try {
        if (frames.length > 0) await this.#c.write(concat(frames));
      } catch (e) {
        this.error = e instanceof Error ? e.message : String(e);
        break;
      }
      this.#mark();
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Samples a process's RSS from /proc every `everyMs`; `max()` is the largest seen (MiB). */
export class RssSampler {
  #max = 0;
  #timer: ReturnType<typeof setInterval>;
  constructor(readonly pid: number, everyMs = 250) {
    this.#timer = setInterval(() => this.sample(), everyMs);
    this.sample();
  }
  sample(): void {
    const mib = procMiB(this.pid, "VmHWM") ?? procMiB(this.pid, "VmRSS");
    if (mib !== null) this.#max = Math.max(this.#max, mib);
  }
  max(): number {
    this.sample();
    return this.#max;
  }
  stop(): number {
    this.sample();
    clearInterval(this.#timer);
    return this.#max;
  }
}

/** A `Vm*` line of /proc/<pid>/status in MiB, or null when the process is gone. */
export function procMiB(pid: number, field: "VmRSS" | "VmHWM"): number | null {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null; // the process exited
  }
}

/** Counted drops by `stage/reason` (pipeline) and `sink/reason` (runners), events. */
export function dropsByReason(m: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of m) {
    if (v === 0) continue;
    let label: string | undefined;
    if (k.startsWith("telemetry_events_dropped_total{")) {
      const stage = /stage="([^"]*)"/.exec(k)?.[1];
      const reason = /reason="([^"]*)"/.exec(k)?.[1];
      if (stage === "sample") continue; // sampled out, its own column
      label = `${stage}/${reason}`;
    } else if (k.startsWith("telemetry_sink_events_dropped_total{")) {
      label = `sink/${/reason="([^"]*)"/.exec(k)?.[1]}`;
    }
    if (label !== undefined) out[label] = (out[label] ?? 0) + v;
  }
  return out;
}

/** Add `b`'s counts into `a`. */
export function addDrops(a: Record<string, number>, b: Record<string, number>): void {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
}

/** Events sampled out (intentional: `sample/*`). */
export function sampledOut(m: Map<string, number>): number {
  return sumOf(m, "telemetry_events_dropped_total", { stage: "sample" });
}

/** The ack latency p99 (ms) from the agent's histogram, interpolated within its bucket. */
export function ackP99Ms(m: Map<string, number>): number | null {
  const buckets: { le: number; n: number }[] = [];
  for (const [k, v] of m) {
    const le = /^telemetry_ack_duration_seconds_bucket\{le="([^"]+)"\}$/.exec(k)?.[1];
    if (le !== undefined) buckets.push({ le: le === "+Inf" ? Infinity : Number(le), n: v });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.n ?? 0;
  if (total === 0) return null;
  const want = 0.99 * total;
  let prevLe = 0;
  let prevN = 0;
  for (const b of buckets) {
    if (b.n >= want) {
      if (b.le === Infinity) return prevLe * 1000;
      const frac = b.n === prevN ? 1 : (want - prevN) / (b.n - prevN);
      return (prevLe + frac * (b.le - prevLe)) * 1000;
    }
    prevLe = b.le;
    prevN = b.n;
  }
  return null;
}

/** Poll `probe` until it holds; false after `limitMs`. */
export async function until(probe: () => boolean | Promise<boolean>, limitMs: number) {
  const t0 = performance.now();
  while (performance.now() - t0 < limitMs) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return await probe();
}

/** Scrape, or null when the agent is gone. */
export async function scrape(agent: AgentProcess): Promise<Map<string, number> | null> {
  try {
    return await agent.metrics();
  } catch {
    return null;
  }
}

/** Series sums live with the other metrics helpers; re-exported for the scenarios. */
export { sumOf };
