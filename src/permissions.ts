/**
 * Derives the Deno permissions the agent needs for one configuration, and nothing more:
 * - read: its config file, its data files (embedded `geo-data/`, `enrichment { data-dir
 *   databases threat-lists hosting-asns }`, `redaction { hash-key-file }`, sink `*-file`/`*-path`
 *   options), its socket directory, file-sink and spool directories;
 * - write: its socket directory, file-sink and spool directories;
 * - net: `unix:<socket>`, the metrics listener, the hosts and ports of its sinks;
 * - env: only the variables the config names (`redaction { hash-key-env }`, sink `*-env` options);
 * - sys: `hostname` (the `agent.host` field), `setPriority` (the pipeline thread runs at nice 10).
 * Running from source (`deno run`) it also needs read on `src/` (the pipeline worker's modules)
 * and on the project's `geo-data/`; a compiled binary carries both in its embedded file system,
 * which the runtime lets it read without a flag, so the flags a build bakes in lack them.
 * Used by `main.ts permissions`, the build (baked-in flags), the tests (which run the agent with
 * exactly these flags) and the start-up check that names a missing flag.
 * @module
 */

import { dirname, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { Config } from "./config/types.ts";
import { s3EnvVars, s3Hosts } from "./sinks/s3/options.ts";
import { bigQueryHosts } from "./sinks/bigquery/options.ts";

/** The pipeline worker's module; loading it from disk needs read access to it. */
export const WORKER_URL = new URL("./pipeline/worker.ts", import.meta.url);
/** The agent's own modules (the worker imports them at start-up). */
const SOURCE_URL = new URL("./", import.meta.url);
/** The data the build embeds (`deno task geo` fills it); read in place when run from source. */
export const EMBEDDED_DATA_URL = new URL("../geo-data/", import.meta.url);

/** One permission the config needs, and why (for the start-up message). */
export interface NeededPermission {
  descriptor: Deno.PermissionDescriptor;
  flag: string;
  why: string;
}

/** How the agent will run. */
export interface PermissionOptions {
  /**
   * Derive for a compiled binary (modules and `geo-data/` embedded, readable without a flag).
   * @default Deno.build.standalone (how this process runs)
   */
  compiled?: boolean;
  /**
   * Directory relative paths in the config resolve against (the build passes the service's
   * working directory).
   * @default Deno.cwd()
   */
  cwd?: string;
}

type Access = "read" | "readwrite" | "env";

/**
 * Config keys (camelCase, as in the typed config) that name files, directories or environment
 * variables, by section. Sink options follow the naming rule in `accessByName` instead.
 */
const SECTION_KEYS: Readonly<Record<string, Readonly<Record<string, Access>>>> = {
  enrichment: { dataDir: "read", databases: "read", threatLists: "read", hostingAsns: "read" },
  redaction: { hashKeyFile: "read", hashKeyEnv: "env" },
  spool: { directory: "readwrite", dir: "readwrite", path: "readwrite" },
};

/** Sink option keys whose values are `host:port` addresses or URLs. */
const SINK_NET_KEYS = new Set(["brokers", "hosts", "host", "url", "urls", "endpoint", "endpoints"]);

/** Hosts a sink type reaches when its config names none (its service's public endpoint). */
const SINK_DEFAULT_HOSTS: Readonly<Record<string, (o: Record<string, unknown>) => string[]>> = {};

/**
 * Needs that follow from several options of one sink type together: S3's bucket host
 * (virtual-hosted style), default endpoint and AWS_* variables (when the config holds no
 * keys); BigQuery's API and token hosts and its dead-letter directory.
 */
const SINK_TYPE_NEEDS: Readonly<
  Record<string, (o: Record<string, unknown>, out: Needs, why: string) => void>
> = {
  s3: (o, out, why) => {
    for (const h of s3Hosts(o)) out.net(h, why);
    for (const v of s3EnvVars(o)) out.env(v, `${why} (AWS credentials)`);
  },
  bigquery: (o, out, why) => {
    for (const h of bigQueryHosts(o)) out.net(h, why);
    const dlq = o["dead-letter-directory"];
    if (typeof dlq === "string") out.readWrite(dlq, `${why} (dead letters)`);
  },
};

/**
 * Environment variables a sink type's client library reads when it loads (kafkajs reads its
 * own switches, a dependency NODE_ENV); without them that sink cannot start.
 */
const SINK_LIBRARY_ENV: Readonly<Record<string, readonly string[]>> = {
  kafka: [
    "NODE_ENV",
    "KAFKAJS_LOG_LEVEL",
    "KAFKAJS_DEBUG_PROTOCOL_BUFFERS",
    "KAFKAJS_DEBUG_EXTENDED_PROTOCOL_BUFFERS",
  ],
};

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Every permission this config needs. */
export function neededPermissions(
  config: Config,
  opts: PermissionOptions = {},
): NeededPermission[] {
  const compiled = opts.compiled ?? Deno.build.standalone;
  const out = new Needs(opts.cwd);
  if (config.source !== "<default>") out.read(config.source, "the config file");
  if (!compiled && SOURCE_URL.protocol === "file:") {
    out.read(dirPath(SOURCE_URL), "loading the pipeline worker's modules");
  }
  const socketDir = dirname(config.socket.path);
  out.read(socketDir, "the socket directory");
  out.write(socketDir, "the socket directory");
  out.net(`unix:${config.socket.path}`, "the proxy socket");
  if (config.metrics.listen !== "off") {
    out.net(netTarget(config.metrics.listen), "the metrics listener");
  }
  dataNeeds(config, compiled, out);
  for (const s of config.sinks) {
    const why = `sink ${s.name}`;
    if (s.type === "file") out.readWrite(String(s.options.directory), why);
    walkOptions(s.options, why, out, false);
    const hosts = sinkHosts(s.options);
    if (hosts.length === 0) hosts.push(...SINK_DEFAULT_HOSTS[s.type]?.(s.options) ?? []);
    for (const h of hosts) out.net(h, why);
    for (const v of SINK_LIBRARY_ENV[s.type] ?? []) out.env(v, `${why} (its client library)`);
    SINK_TYPE_NEEDS[s.type]?.(s.options, out, why);
  }
  out.list.push({
    descriptor: { name: "sys", kind: "hostname" },
    flag: "--allow-sys=hostname",
    why: "the agent.host field",
  });
  out.list.push({
    descriptor: { name: "sys", kind: "setPriority" },
    flag: "--allow-sys=setPriority",
    why: "lowering the pipeline thread's priority below the ack path's",
  });
  return out.list;
}

/** Permission flags for `deno run` / `deno compile` for this config. */
export function permissionFlags(config: Config, opts: PermissionOptions = {}): string[] {
  const lists = new Map<string, Set<string>>();
  for (const p of neededPermissions(config, opts)) {
    const [name, value] = splitFlag(p.flag);
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

/** Collects needs in order, once each. */
class Needs {
  readonly list: NeededPermission[] = [];
  readonly #seen = new Set<string>();
  constructor(readonly cwd?: string) {}

  read(path: string, why: string): void {
    const p = this.#abs(path);
    this.#add({ name: "read", path: p }, `--allow-read=${p}`, why);
  }
  write(path: string, why: string): void {
    const p = this.#abs(path);
    this.#add({ name: "write", path: p }, `--allow-write=${p}`, why);
  }
  readWrite(path: string, why: string): void {
    this.read(path, why);
    this.write(path, why);
  }
  net(host: string, why: string): void {
    this.#add({ name: "net", host }, `--allow-net=${host}`, why);
  }
  env(variable: string, why: string): void {
    this.#add({ name: "env", variable }, `--allow-env=${variable}`, why);
  }
  #abs(path: string): string {
    return this.cwd === undefined ? resolve(path) : resolve(this.cwd, path);
  }
  #add(descriptor: Deno.PermissionDescriptor, flag: string, why: string): void {
    if (this.#seen.has(flag)) return;
    this.#seen.add(flag);
    this.list.push({ descriptor, flag, why });
  }
}

/** Enrichment data, redaction secrets and any other section listed in SECTION_KEYS. */
function dataNeeds(config: Config, compiled: boolean, out: Needs): void {
  const sections = config as unknown as Record<string, unknown>;
  const enrichment = sections.enrichment as Record<string, unknown>;
  const anyEnrichment = ["geoip", "asn", "threatIntel"] // device detection reads no file
    .some((k) => enrichment[k] === true);
  const builtinData = enrichment.dataDir === undefined || enrichment.dataDir === "";
  if (anyEnrichment && builtinData && !compiled) {
    out.read(dirPath(EMBEDDED_DATA_URL), "the embedded enrichment data (geo-data/)");
  }
  for (const [section, keys] of Object.entries(SECTION_KEYS)) {
    const values = sections[section];
    if (!isRecord(values)) continue;
    if (section === "enrichment" && !anyEnrichment) continue;
    for (const [key, access] of Object.entries(keys)) {
      for (const v of strings(values[key])) grant(out, access, v, `${section}.${kebab(key)}`);
    }
  }
}

/** Sink options: `*-env` names a variable, `*-file`/`*-path` a file read, spool keys a directory. */
function walkOptions(options: Record<string, unknown>, why: string, out: Needs, spool: boolean) {
  for (const [key, value] of Object.entries(options)) {
    if (isRecord(value)) {
      walkOptions(value, why, out, spool || key === "spool");
      continue;
    }
    const access = accessByName(key, spool);
    if (access) { for (const v of strings(value)) grant(out, access, v, `${why} (${key})`); }
  }
}

/** The access a sink option grants by its name, or null when it names no resource. */
export function accessByName(key: string, inSpool = false): Access | null {
  const k = key.toLowerCase();
  if (k.endsWith("-env") || (key.endsWith("Env") && key !== "Env")) return "env";
  if (inSpool && /(^|-)(dir|directory|path)$/.test(k)) return "readwrite";
  if (/^spool-(dir|directory|path)$/.test(k) || /^spool(Dir|Directory|Path)$/.test(key)) {
    return "readwrite";
  }
  if (/-(file|path)$/.test(k) || /[a-z](File|Path)$/.test(key)) return "read";
  return null;
}

function grant(out: Needs, access: Access, value: string, why: string): void {
  if (value === "") return;
  if (access === "env") {
    if (ENV_NAME.test(value)) out.env(value, why);
  } else if (access === "readwrite") out.readWrite(value, why);
  else out.read(value, why);
}

/** `host:0` means any port on that host. */
function netTarget(hostPort: string): string {
  return hostPort.endsWith(":0") ? hostPort.slice(0, -2) : hostPort;
}

/** `host:port` targets a sink's options name (`brokers`, `url`, `endpoint`, …). */
export function sinkHosts(options: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(options)) {
    const k = key.toLowerCase();
    const isNet = SINK_NET_KEYS.has(k) || k.endsWith("-url") || k.endsWith("-endpoint");
    if (!isNet) continue;
    for (const v of strings(value)) out.push(hostOf(v));
  }
  return [...new Set(out)];
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  "http:": "80",
  "https:": "443",
  "ws:": "80",
  "wss:": "443",
};

/** `host:port` of a URL (its scheme's port when none is written), or the value as written. */
function hostOf(value: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return value; // `host:port` as written
  try {
    const u = new URL(value);
    const port = u.port || DEFAULT_PORTS[u.protocol];
    return port ? `${u.hostname}:${port}` : u.hostname;
  } catch {
    return value; // not a URL: validated by the sink; still name the host the user gave
  }
}

function splitFlag(flag: string): [string, string] {
  const eq = flag.indexOf("=");
  return [flag.slice(2, eq), flag.slice(eq + 1)];
}

function strings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function dirPath(url: URL): string {
  return fromFileUrl(url).replace(/\/$/, "");
}
