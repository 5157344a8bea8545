/**
 * Derives the Deno permission flags the agent needs for one configuration, and nothing more:
 * read on its config and sink directories, write on its socket directory and file-sink
 * directories, network only to its socket, its metrics listener and its sinks' hosts.
 * Used by `main.ts permissions`, the build (baked-in flags) and the tests (which run the agent
 * with exactly these flags).
 * @module
 */

import { dirname } from "node:path";
import type { Config } from "./config/types.ts";

/** Permission flags for `deno run` / `deno compile` for this config. */
export function permissionFlags(config: Config): string[] {
  const read = new Set<string>();
  const write = new Set<string>();
  const net = new Set<string>();
  if (config.source !== "<default>") read.add(config.source);
  const socketDir = dirname(config.socket.path);
  read.add(socketDir);
  write.add(socketDir);
  net.add(`unix:${config.socket.path}`);
  if (config.metrics.listen !== "off") net.add(netTarget(config.metrics.listen));
  for (const s of config.sinks) {
    if (s.type === "file") {
      read.add(String(s.options.directory));
      write.add(String(s.options.directory));
    }
    for (const b of sinkHosts(s.options)) net.add(b);
  }
  return [
    `--allow-read=${[...read].join(",")}`,
    `--allow-write=${[...write].join(",")}`,
    `--allow-net=${[...net].join(",")}`,
    "--allow-sys=hostname",
  ];
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
