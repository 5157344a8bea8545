/**
 * Starts the Telemetry agent as a separate process (`deno run … main.ts run`) in a temp dir, waits
 * for its `agent ready` log line and gives tests its socket, metrics, logs and a clean stop.
 * Test-only helper.
 * @module
 */

import { type ConfigFlags, effectiveConfig } from "../../src/config/effective.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { permissionFlags } from "../../src/permissions.ts";
import { RUNTIME_FLAGS } from "../../src/runtime_flags.ts";

/**
 * The flags the agent runs with: exactly what `main.ts permissions` derives for the effective
 * config (src/permissions.ts), the same flags a build bakes in. A config that does not load gets
 * the flags of the built-in defaults with the same overrides, so the agent can report the error.
 */
export async function agentPermissions(flags: ConfigFlags): Promise<string[]> {
  try {
    return permissionFlags((await effectiveConfig(flags)).config);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return permissionFlags((await effectiveConfig({ ...flags, config: undefined })).config)
      .map((f) => f.startsWith("--allow-read=") ? `${f},${flags.config}` : f);
  }
}

const PROJECT_ROOT = new URL("../../", import.meta.url);
const READY_TIMEOUT_MS = 20_000;
const STOP_KILL_AFTER_MS = 15_000;

export interface StartAgentOptions {
  /** KDL text, written to `<tmp>/telemetry.kdl` and passed as `--config`. */
  config?: string;
  /** Extra arguments after the standard ones. */
  args?: string[];
  env?: Record<string, string>;
  ackOnly?: boolean;
  /** Socket path; default `<tmp>/a.sock`. */
  socket?: string;
}

export interface AgentProcess {
  pid: number;
  socketPath: string;
  /** `http://127.0.0.1:PORT/metrics`, or `undefined` when metrics are off. */
  metricsUrl?: string;
  dataDir: string;
  tmpDir: string;
  /** Parsed stderr JSON lines so far (a line that is not JSON appears as `{raw}`). */
  logs(): Record<string, unknown>[];
  stdoutText(): string;
  stderrText(): string;
  /** Scrape `/metrics`: key `name{labels}` exactly as printed. */
  metrics(): Promise<Map<string, number>>;
  signal(sig: Deno.Signal): void;
  /** SIGTERM, wait; SIGKILL after 15 s. Resolves once the process and its pipes are done. */
  stop(): Promise<{ code: number; signal: Deno.Signal | null }>;
  /** Stops (if running) and removes the temp dir. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The agent exited or never became ready; `stderr` holds what it wrote. */
export class AgentStartError extends Error {
  override name = "AgentStartError";
  constructor(message: string, readonly stderr: string, readonly code: number | null) {
    super(`${message}\n--- agent stderr ---\n${stderr}`);
  }
}

/** Collects a pipe as text, line by line, and calls `onLine` for each line. */
function collect(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void) {
  let text = "";
  let partial = "";
  const done = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      const s = decoder.decode(chunk, { stream: true });
      text += s;
      const lines = (partial + s).split("\n");
      partial = lines.pop()!;
      lines.forEach(onLine);
    }
    if (partial) onLine(partial);
  })();
  return { text: () => text, done };
}

/** Parse Prometheus text exposition: `name{labels} value [timestamp]`. */
export function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const m = /^(\S+?(?:\{.*\})?)\s+(\S+)(?:\s+-?\d+)?$/.exec(line.trim());
    if (!m) throw new Error(`Bad metrics line: ${line}`);
    const v = m[2] === "+Inf" ? Infinity : m[2] === "-Inf" ? -Infinity : Number(m[2]);
    out.set(m[1], v);
  }
  return out;
}

/** Sum of every series of `name` whose labels include all of `want`. */
export function sumOf(m: Map<string, number>, name: string, want: Record<string, string> = {}) {
  let t = 0;
  for (const [k, v] of m) {
    if (k !== name && !k.startsWith(`${name}{`)) continue;
    if (Object.entries(want).every(([l, x]) => k.includes(`${l}="${x}"`))) t += v;
  }
  return t;
}

/** The accounting identity's terms (DESIGN.md §3): received = emitted + dropped + in flight. */
export function accountingBooks(m: Map<string, number>) {
  return {
    received: sumOf(m, "telemetry_ingress_events_received_total"),
    emitted: sumOf(m, "telemetry_events_emitted_total"),
    dropped: sumOf(m, "telemetry_events_dropped_total"),
    inFlight: sumOf(m, "telemetry_events_in_flight"),
  };
}

/** Start the agent and wait until it logs `agent ready`. */
export async function startAgent(opts: StartAgentOptions = {}): Promise<AgentProcess> {
  const tmpDir = await Deno.makeTempDir({ prefix: "telemetry-e2e-" });
  const socketPath = opts.socket ?? `${tmpDir}/a.sock`;
  const dataDir = `${tmpDir}/data`;
  if (opts.config !== undefined) await Deno.writeTextFile(`${tmpDir}/telemetry.kdl`, opts.config);
  const args = [
    "run",
    ...RUNTIME_FLAGS,
    ...await agentPermissions({
      config: opts.config === undefined ? undefined : `${tmpDir}/telemetry.kdl`,
      socket: socketPath,
      "data-dir": dataDir,
      "metrics-listen": "127.0.0.1:0",
    }),
    "main.ts",
    "run",
    "--socket",
    socketPath,
    "--data-dir",
    dataDir,
    "--metrics-listen",
    "127.0.0.1:0",
  ];
  if (opts.config !== undefined) {
    args.push("--config", `${tmpDir}/telemetry.kdl`);
  }
  if (opts.ackOnly) args.push("--ack-only");
  args.push(...opts.args ?? []);
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: PROJECT_ROOT,
    env: { NO_COLOR: "1", ...opts.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const logs: Record<string, unknown>[] = [];
  let onReady: ((line: Record<string, unknown>) => void) | undefined;
  const stderr = collect(child.stderr, (line) => {
    let parsed: Record<string, unknown>;
    try {
      const v = JSON.parse(line);
      parsed = v && typeof v === "object" && !Array.isArray(v) ? v : { raw: line };
    } catch {
      parsed = { raw: line };
    }
    logs.push(parsed);
    if (parsed.msg === "agent ready") onReady?.(parsed);
  });
  const stdout = collect(child.stdout, () => {});
  const pipesDone = Promise.all([stderr.done, stdout.done]);

  let finished: Deno.CommandStatus | undefined;
  const status = child.status.then(async (s) => {
    await pipesDone;
    finished = s;
    return s;
  });

  const ready = await waitReady(status, (r) => (onReady = r));
  if (!("msg" in ready)) {
    if (ready.timedOut) {
      child.kill("SIGKILL");
      await status;
    }
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    const why = ready.timedOut
      ? `Agent not ready within ${READY_TIMEOUT_MS} ms`
      : `Agent exited with code ${ready.code} before it was ready`;
    throw new AgentStartError(why, stderr.text(), ready.code);
  }

  const metrics = typeof ready.metrics === "string" && ready.metrics !== "off"
    ? `http://${ready.metrics}/metrics`
    : undefined;

  async function stop() {
    if (!finished) {
      try {
        child.kill("SIGTERM");
      } catch {
        // exited between the check and the kill
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const killer = new Promise<void>((r) => {
        timer = setTimeout(() => {
          if (!finished) child.kill("SIGKILL");
          r();
        }, STOP_KILL_AFTER_MS);
      });
      await Promise.race([status, killer]);
      clearTimeout(timer);
    }
    const s = await status;
    return { code: s.code, signal: s.signal };
  }

  return {
    pid: child.pid,
    socketPath: typeof ready.socket === "string" ? ready.socket : socketPath,
    metricsUrl: metrics,
    dataDir: typeof ready.data_dir === "string" ? ready.data_dir : dataDir,
    tmpDir,
    logs: () => logs.slice(),
    stdoutText: stdout.text,
    stderrText: stderr.text,
    async metrics() {
      if (!metrics) throw new Error("The agent runs with metrics off");
      const res = await fetch(metrics);
      const text = await res.text();
      if (!res.ok) throw new Error(`GET ${metrics}: ${res.status} ${text}`);
      return parsePrometheus(text);
    },
    signal: (sig) => child.kill(sig),
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    },
  };
}

type ReadyOutcome = Record<string, unknown> & { msg: string } | {
  timedOut: boolean;
  code: number | null;
};

async function waitReady(
  status: Promise<Deno.CommandStatus>,
  register: (r: (line: Record<string, unknown>) => void) => void,
): Promise<ReadyOutcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ready = new Promise<ReadyOutcome>((resolve) => {
    register((line) => resolve(line as ReadyOutcome));
  });
  const exited = status.then((s): ReadyOutcome => ({ timedOut: false, code: s.code }));
  const timeout = new Promise<ReadyOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true, code: null }), READY_TIMEOUT_MS);
  });
  try {
    return await Promise.race([ready, exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
