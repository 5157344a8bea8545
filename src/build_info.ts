/**
 * What this agent is: version, git commit, build date and target, the permission flags the build
 * baked in, and the enrichment data it carries with their attributions. `scripts/build.ts`
 * stamps `build_stamp.json` in its staged copy of the sources before `deno compile`; a source
 * checkout carries the unstamped file. The data manifest is read from `geo-data/manifest.json`
 * beside the modules by the same code in `deno run` and in a compiled binary (where it is in the
 * embedded file system). Main thread, for `main.ts version`. Never touches the network.
 * @module
 */

import stampJson from "./build_stamp.json" with { type: "json" };
import { EMBEDDED_DATA_URL } from "./permissions.ts";
import { VERSION } from "./version.ts";

/** What `scripts/build.ts` writes into `build_stamp.json`. */
export interface BuildStamp {
  stamped: boolean;
  version: string | null;
  commit: string | null;
  /** The work tree had changes the commit lacks. */
  dirty: boolean;
  /** RFC 3339 UTC. */
  date: string | null;
  target: string | null;
  /** The config path the permission flags were derived for. */
  config: string | null;
  /** The working directory relative config paths were resolved against. */
  workdir: string | null;
  permissions: string[];
  /** `geo-data/manifest.json` as it was at build time, or null when there was none. */
  data: unknown;
}

/** One data file, as far as the manifest says. */
export interface DataFile {
  name: string;
  /** `name@version` of the data set. */
  label?: string;
  sha256?: string;
  bytes?: number;
  license?: string;
  source?: string;
}

/** What the data manifest says, normalised. */
export interface DataSummary {
  files: DataFile[];
  attributions: string[];
}

/** Everything `version` prints. */
export interface BuildInfo {
  version: string;
  stamp: BuildStamp;
  compiled: boolean;
  deno: string;
  runtimeTarget: string;
  /** The manifest read now (embedded or beside the sources), else the stamped one. */
  data: DataSummary | null;
  /** Where `data` came from, or why there is none. */
  dataNote: string;
}

/** The committed or build-stamped stamp. */
export const STAMP: BuildStamp = stampJson as unknown as BuildStamp;

/** The manifest file next to the embedded data. */
export const DATA_MANIFEST_URL = new URL("manifest.json", EMBEDDED_DATA_URL);

/** Collect build information; reads the data manifest (never throws). */
export function buildInfo(
  stamp: BuildStamp = STAMP,
  live: { manifest: unknown; note: string } = readDataManifest(),
): BuildInfo {
  let data: DataSummary | null = null;
  let dataNote = live.note;
  if (live.manifest !== null) data = summariseManifest(live.manifest);
  else if (stamp.data !== null && stamp.data !== undefined) {
    data = summariseManifest(stamp.data);
    dataNote = `as stamped at build time (${live.note})`;
  }
  return {
    version: stamp.version ?? VERSION,
    stamp,
    compiled: Deno.build.standalone,
    deno: Deno.version.deno,
    runtimeTarget: Deno.build.target,
    data,
    dataNote,
  };
}

/** Read `geo-data/manifest.json` beside the modules (embedded in a binary). */
export function readDataManifest(): { manifest: unknown; note: string } {
  const where = Deno.build.standalone ? "embedded geo-data/manifest.json" : DATA_MANIFEST_URL.href;
  try {
    return { manifest: JSON.parse(Deno.readTextFileSync(DATA_MANIFEST_URL)), note: where };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { manifest: null, note: `no ${where}: run \`deno task geo\` before building` };
    }
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      const dir = decodeURIComponent(EMBEDDED_DATA_URL.pathname).replace(/\/$/, "");
      return { manifest: null, note: `${where} not readable: run with --allow-read=${dir}` };
    }
    if (e instanceof SyntaxError) return { manifest: null, note: `${where} is not JSON` };
    throw e;
  }
}

/**
 * Normalise a manifest: files from `files` (a list of objects, or an object keyed by name) with
 * `name`/`path`, `label` (or `version`), `sha256`, `bytes`/`size`, `license`/`licence`,
 * `source`/`url`; attributions from a
 * top-level `attributions` list and each file's `attribution`.
 */
export function summariseManifest(manifest: unknown): DataSummary {
  const out: DataSummary = { files: [], attributions: [] };
  if (!isRecord(manifest)) return out;
  const files = manifest.files;
  const entries: [string | undefined, unknown][] = Array.isArray(files)
    ? files.map((f) => [undefined, f])
    : isRecord(files)
    ? Object.entries(files)
    : [];
  for (const [key, f] of entries) {
    if (!isRecord(f)) continue;
    const name = str(f.name) ?? str(f.path) ?? str(f.file) ?? key;
    if (name === undefined) continue;
    const file: DataFile = { name };
    const label = str(f.label) ?? (str(f.version) ? `${name}@${f.version}` : undefined);
    if (label) file.label = label;
    const sha = str(f.sha256);
    if (sha) file.sha256 = sha;
    const bytes = typeof f.bytes === "number" ? f.bytes : f.size;
    if (typeof bytes === "number") file.bytes = bytes;
    const license = str(f.license) ?? str(f.licence);
    if (license) file.license = license;
    const source = str(f.source) ?? str(f.url);
    if (source) file.source = source;
    out.files.push(file);
    const a = str(f.attribution);
    if (a) out.attributions.push(a);
  }
  const top = manifest.attributions ?? manifest.attribution;
  for (const a of Array.isArray(top) ? top : [top]) {
    if (typeof a === "string") out.attributions.push(a);
  }
  out.attributions = [...new Set(out.attributions)];
  return out;
}

/** The text `main.ts version` prints. */
export function formatVersion(info: BuildInfo): string {
  const s = info.stamp;
  const lines = [`telemetry ${info.version}`];
  if (s.stamped) {
    lines.push(`commit  ${s.commit ?? "unknown"}${s.dirty ? " (with uncommitted changes)" : ""}`);
    lines.push(`built   ${s.date ?? "unknown"} for ${s.target ?? "unknown"}`);
  } else {
    lines.push("commit  not stamped (running from source; `deno task build` stamps it)");
  }
  lines.push(`deno    ${info.deno} (${info.runtimeTarget}${info.compiled ? ", compiled" : ""})`);
  if (s.stamped) {
    lines.push(`permissions baked in for ${s.config ?? "the built-in defaults"}:`);
    lines.push(`  ${s.permissions.join(" ") || "(none)"}`);
  }
  lines.push(`data    ${info.dataNote}`);
  for (const f of info.data?.files ?? []) {
    const sha = f.sha256 ? `  sha256:${f.sha256.slice(0, 16)}` : "";
    const extra = [f.license, f.source].filter(Boolean).join(", ");
    const label = f.label ? `  ${f.label}` : "";
    lines.push(`  ${f.name}${label}${sha}${extra ? `  (${extra})` : ""}`);
  }
  const attributions = info.data?.attributions ?? [];
  if (attributions.length > 0) {
    lines.push("attributions:");
    for (const a of attributions) lines.push(`  ${a}`);
  }
  return lines.join("\n");
}

function str(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
