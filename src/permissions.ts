/**
 * Derives the Deno permissions the agent needs for one configuration, and nothing more:
 * read on its config file, socket directory and file-sink directories; write on its socket
 * directory and file-sink directories; network only to its socket, its metrics listener and its
 * sinks' hosts. Used by `main.ts permissions`, the build (baked-in flags), the tests (which run
 * the agent with exactly these flags) and the start-up check that names a missing flag.
 * @module
 */

import { dirname } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { Config } from "./config/types.ts";

/** The pipeline worker's module; loading it from disk needs read access to it. */
export const WORKER_URL = new URL("./pipeline/worker.ts", import.meta.url);
/** The agent's own modules (the worker imports them at start-up). */
const SOURCE_URL = new URL("./", import.meta.url);

/** One permission the config needs, and why (for the start-up message). */
export interface NeededPermission {
  descriptor: Deno.PermissionDescriptor;
  flag: string;
  why: string;
}

/** Every permission this config needs. */
export function neededPermissions(config: Config): NeededPermission[] {
  const out: NeededPermission[] = [];
  const add = (kind: "read" | "write", path: string, why: string) =>
    out.push({ descriptor: { name: kind, path }, flag: `--allow-${kind}=${path}`, why });
  const net = (host: string, why: string) =>
    out.push({ descriptor: { name: "net", host }, flag: `--allow-net=${host}`, why });
  if (config.source !== "<default>") add("read", config.source, "the config file");
  if (SOURCE_URL.protocol === "file:") {
    add(
      "read",
      fromFileUrl(SOURCE_URL).replace(/\/$/, ""),
      "loading the pipeline worker's modules",
    );
  }
  const socketDir = dirname(config.socket.path);
  add("read", socketDir, "the socket directory");
  add("write", socketDir, "the socket directory");
  net(`unix:${config.socket.path}`, "the proxy socket");
  if (config.metrics.listen !== "off") {
    net(netTarget(config.metrics.listen), "the metrics listener");
  }
  for (const s of config.sinks) {
    if (s.type === "file") {
      add("read", String(s.options.directory), `sink ${s.name}`);
      add("write", String(s.options.directory), `sink ${s.name}`);
    }
    for (const h of sinkHosts(s.options)) net(h, `sink ${s.name}`);
  }
  out.push({
    descriptor: { name: "sys", kind: "hostname" },
    flag: "--allow-sys=hostname",
    why: "the agent.host field",
  });
  out.push({
    descriptor: { name: "sys", kind: "setPriority" },
    flag: "--allow-sys=setPriority",
    why: "lowering the pipeline thread's priority below the ack path's",
  });
  return out;
}

/** Permission flags for `deno run` / `deno compile` for this config. */
export function permissionFlags(config: Config): string[] {
  const lists = new Map<string, Set<string>>();
  for (const p of neededPermissions(config)) {
    const [name, value] = p.flag.slice(2).split("=", 2);
    if (!lists.has(name)) lists.set(name, new Set());
    lists.get(name)!.add(value);
  }
  return [...lists].map(([name, values]) => `--${name}=${[...values].join(",")}`);
}

/** The needed permissions this process was not granted. */
export function missingPermissions(config: Config): NeededPermission[] {
  return neededPermissions(config).filter((p) =>
    Deno.permissions.querySync(p.descriptor).state !== "granted"
  );
}

/** `host:0` means any port on that host. */
function netTarget(hostPort: string): string {
  return hostPort.endsWith(":0") ? hostPort.slice(0, -2) : hostPort;
}

/** `host:port` targets a sink names in `brokers`, `url` or `endpoint` options. */
function sinkHosts(options: Record<string, unknown>): string[] {
  const out: string[] = [];
  const brokers = options.brokers;
  if (Array.isArray(brokers)) { for (const b of brokers) if (typeof b === "string") out.push(b); }
  for (const key of ["url", "endpoint"]) {
    const v = options[key];
    if (typeof v !== "string") continue;
    try {
      const u = new URL(v);
      out.push(u.port ? `${u.hostname}:${u.port}` : u.hostname);
    } catch {
      out.push(v); // not a URL: validated by the sink; still name the host the user gave
    }
  }
  return out;
}
