/**
 * Runs the agent: pipeline worker, metrics endpoint, socket server, signals. Main thread.
 * Start-up order makes the agent ready only when every part is: the socket is claimed last,
 * so a proxy never reaches an agent whose pipeline failed to start.
 * Shutdown (SIGTERM/SIGINT): stop accepting, answer what is in flight, hand off the rest,
 * drain the pipeline and sinks within `shutdown-timeout-ms`, exit 0.
 * @module
 */

import { hostname } from "node:os";
import type { Config } from "./config/types.ts";
import { Handoff, type HandoffBatch } from "./ingress/handoff.ts";
import { IngressServer } from "./ingress/server.ts";
import {
  ingressMetrics,
  receivedByKind as receivedByKindCounters,
  type WorkerSnapshot,
} from "./obs/catalog.ts";
import { EVENT_KINDS } from "./protocol/constants.ts";
import { type ObsServer, serveObs } from "./obs/http.ts";
import { configureLog, log } from "./obs/log.ts";
import { dropLabels } from "./obs/catalog.ts";
import type { FromWorker, ToWorker } from "./pipeline/messages.ts";
import type { AgentGroup } from "./record/schema.ts";
import { missingPermissions, permissionFlags, WORKER_URL } from "./permissions.ts";
import { VERSION } from "./version.ts";

export interface RunOptions {
  config: Config;
  setKeys: string[];
  /** Acknowledge only: no pipeline worker (benchmark baseline). */
  ackOnly: boolean;
  /** Fault injection for tests: the pipeline worker blocks this long per batch. */
  faultPipelineDelayMs?: number;
  /** Re-read the config (SIGHUP); null when there is no file. */
  reload: (() => Promise<{ config: Config; setKeys: string[] }>) | null;
}

/** Start the agent; resolves with the exit code once it has shut down. */
export async function runAgent(opts: RunOptions): Promise<number> {
  const { config } = opts;
  configureLog(config.logLevel, "main");
  const missing = missingPermissions(config);
  if (missing.length > 0) {
    for (const p of missing) {
      log("error", `missing permission ${p.flag} (needed for ${p.why})`, { flag: p.flag });
    }
    log("error", "the configuration reaches outside the permissions this agent was given", {
      needed: permissionFlags(config).join(" "),
    });
    return 1;
  }
  const metrics = ingressMetrics();
  const agent: AgentGroup = { id: "telemetry", version: VERSION, host: safeHostname() };
  const worker = opts.ackOnly ? null : await startWorker(
    config,
    opts.setKeys,
    agent,
    opts.faultPipelineDelayMs ?? 0,
  );
  const snapshots = new SnapshotBroker(worker);
  const target = worker
    ? { post: (b: HandoffBatch, t: Transferable[]) => worker.postMessage(b satisfies ToWorker, t) }
    : {
      post: (b: HandoffBatch) => {
        metrics.dropped.local.inc(dropLabels("handoff", "ack_only", true), b.count);
        queueMicrotask(() => handoff.consumed());
      },
    };
  const handoff = new Handoff(config.handoff, metrics, target);
  let draining = false;
  const obs: ObsServer | null = config.metrics.listen === "off" ? null : await serveObs(
    config.metrics.listen,
    {
      metrics: async () => {
        const snap = await snapshots.request();
        metrics.dropped.setRemote(snap?.dropped ?? []);
        metrics.inFlight.setRemote(snap?.inFlight ?? []);
        metrics.memory.setRemote(snap?.memory ?? []);
        return metrics.registry.render() + (snap?.text ?? "");
      },
      health: async () => {
        const status = draining ? "draining" as const : "ok" as const;
        const snap = draining ? null : await snapshots.request();
        const spool = snap?.spool;
        return { status, handoff_queue: handoff.queued, ...(spool?.length ? { spool } : {}) };
      },
    },
  );
  worker?.addEventListener("message", (e: MessageEvent<FromWorker>) => {
    if (e.data.type === "consumed") handoff.consumed(e.data.buf, e.data.index);
    else if (e.data.type === "snapshot") snapshots.resolve(e.data.id, e.data.snapshot);
  });
  const identity = { agentId: "telemetry", name: "Telemetry", version: VERSION };
  let server: IngressServer;
  try {
    const receivedByKind = receivedByKindCounters(metrics, EVENT_KINDS);
    const buffers = { held: 0, max: config.ingress.maxBufferedBytes };
    server = await IngressServer.start(config.socket, config.ingress, {
      buffers,
      metrics,
      handoff,
      identity,
      log,
      receivedByKind,
    });
  } catch (e) {
    log("error", e instanceof Error ? e.message : String(e), { socket: config.socket.path });
    await obs?.close();
    worker?.terminate();
    return 1;
  }
  const done = Promise.withResolvers<number>();
  const shutdown = async (signal: string) => {
    if (draining) return;
    draining = true;
    log("info", "shutting down", { signal, deadline_ms: config.shutdownTimeoutMs });
    const deadline = Date.now() + config.shutdownTimeoutMs;
    await server.stop(Math.min(250, config.shutdownTimeoutMs / 4));
    const complete = await drainAll(handoff, worker, deadline);
    await obs?.close();
    worker?.terminate();
    log(complete ? "info" : "warn", "stopped", { complete });
    done.resolve(0);
  };
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    Deno.addSignalListener(sig, () => void shutdown(sig));
  }
  Deno.addSignalListener("SIGHUP", () => void reload(opts, worker, handoff));
  // Ready only once a signal would be handled: "agent ready" means SIGTERM drains.
  announce(config, obs, opts.ackOnly);
  return await done.promise;
}

async function startWorker(
  config: Config,
  setKeys: string[],
  agent: AgentGroup,
  faultDelayMs: number,
): Promise<Worker> {
  const worker = new Worker(WORKER_URL, { type: "module" });
  const ready = Promise.withResolvers<void>();
  const onMessage = (e: MessageEvent<FromWorker>) => {
    if (e.data.type === "ready") ready.resolve();
    else if (e.data.type === "init_failed") ready.reject(new Error(e.data.error));
  };
  worker.addEventListener("message", onMessage);
  worker.addEventListener("error", (e) => {
    e.preventDefault();
    log("error", "pipeline worker crashed", { error: e.message });
    ready.reject(new Error(e.message));
  });
  worker.postMessage({ type: "init", config, setKeys, agent, faultDelayMs } satisfies ToWorker);
  try {
    await ready.promise;
  } catch (e) {
    worker.terminate();
    throw e;
  }
  worker.removeEventListener("message", onMessage);
  return worker;
}

/** Hand everything queued to the worker, then let it emit and drain the sinks. */
async function drainAll(
  handoff: Handoff,
  worker: Worker | null,
  deadline: number,
): Promise<boolean> {
  handoff.flush();
  while (handoff.queued > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    handoff.flush();
  }
  handoff.close();
  if (!worker) return true;
  const drained = Promise.withResolvers<boolean>();
  const onMessage = (e: MessageEvent<FromWorker>) => {
    if (e.data.type === "drained") drained.resolve(e.data.complete);
  };
  worker.addEventListener("message", onMessage);
  worker.postMessage(
    { type: "drain", deadlineMs: Math.max(0, deadline - Date.now()) } satisfies ToWorker,
  );
  const timer = setTimeout(() => drained.resolve(false), Math.max(0, deadline - Date.now()) + 2000);
  const complete = await drained.promise;
  clearTimeout(timer);
  return complete && handoff.queued === 0;
}

async function reload(opts: RunOptions, worker: Worker | null, handoff: Handoff): Promise<void> {
  if (!opts.reload) {
    log("info", "SIGHUP ignored: the agent runs on its built-in defaults (no --config)");
    return;
  }
  try {
    const next = await opts.reload();
    // Events acked before the reload are processed with the settings they arrived under.
    handoff.inOrder(() => worker?.postMessage({ type: "reconfigure", ...next } satisfies ToWorker));
    configureLog(next.config.logLevel, "main");
    const restart = restartNeeded(opts.config, next.config);
    log("info", "config reloaded: sampling, enrichment and log level applied", {
      needs_restart: restart,
    });
  } catch (e) {
    log("error", "config reload failed; keeping the running config", {
      error: e instanceof Error ? e.message : String(e),
    });
  }
}

/** Sections that changed but only take effect after a restart. */
function restartNeeded(a: Config, b: Config): string[] {
  const keys = [
    "socket",
    "events",
    "ingress",
    "handoff",
    "lifecycle",
    "sinks",
    "metrics",
    "redaction",
  ] as const;
  return keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

function announce(config: Config, obs: ObsServer | null, ackOnly: boolean): void {
  const dirs = config.sinks.filter((s) => s.type === "file").map((s) => s.options.directory);
  const proxyBlock = [
    `agents {`,
    `    agent "telemetry" type="telemetry" {`,
    `        unix-socket "${config.socket.path}"`,
    `        events "request_headers" "response_headers"`,
    `        timeout-ms 10`,
    `        failure-mode "open"`,
    `    }`,
    `}`,
  ].join("\n");
  if (Deno.stderr.isTerminal()) {
    const out = dirs.length > 0 ? `writing NDJSON files to ${dirs.join(", ")}` : "sinks ready";
    console.error(
      `\nTelemetry ${VERSION} listening on ${config.socket.path}, ${out}` +
        (obs
          ? `\nmetrics: http://${obs.address}/metrics   health: http://${obs.address}/healthz`
          : "") +
        `\n\nPoint Sentinel (Zentinel) at it with this block in the proxy's config:\n\n${proxyBlock}\n`,
    );
  }
  log("info", "agent ready", {
    socket: config.socket.path,
    metrics: obs?.address ?? "off",
    data_dir: dirs[0] ?? null,
    sinks: config.sinks.map((s) => `${s.name}:${s.type}`),
    ack_only: ackOnly,
    version: VERSION,
    sentinel_config:
      `agent "telemetry" type="telemetry" { unix-socket "${config.socket.path}"; events "request_headers" "response_headers"; timeout-ms 10; failure-mode "open" }`,
  });
}

function safeHostname(): string {
  try {
    return hostname();
  } catch {
    return "unknown"; // no --allow-sys=hostname: the record says so rather than failing
  }
}

/** Pairs `/metrics` scrapes with the worker's snapshot answers. */
class SnapshotBroker {
  #next = 1;
  readonly #waiting = new Map<number, (s: WorkerSnapshot | null) => void>();
  constructor(readonly worker: Worker | null) {}
  request(): Promise<WorkerSnapshot | null> {
    if (!this.worker) return Promise.resolve(null);
    const id = this.#next++;
    const p = new Promise<WorkerSnapshot | null>((resolve) => this.#waiting.set(id, resolve));
    this.worker.postMessage({ type: "snapshot", id } satisfies ToWorker);
    setTimeout(() => this.resolve(id, null), 2000);
    return p;
  }
  resolve(id: number, s: WorkerSnapshot | null): void {
    const fn = this.#waiting.get(id);
    this.#waiting.delete(id);
    fn?.(s);
  }
}
