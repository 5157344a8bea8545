/**
 * `deno task build`: compiles `main.ts` with `deno compile` into one self-contained executable per
 * target (x86_64 and aarch64 Linux by default), embedding the pipeline worker's modules and
 * `geo-data/`, with the permission flags the service's config needs baked in and version, git
 * commit, build date and data manifest stamped; then writes a `.tar.gz` and its `.sha256` per
 * target and `build-report.json`. The denort runtime `deno compile` needs comes from
 * `DENORT_BIN_<TARGET>`/`DENORT_BIN`, the Deno cache, or a download (see docs/deployment.md).
 * Build time only.
 * @module
 */

import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { BuildStamp } from "../src/build_info.ts";
import { VERSION } from "../src/version.ts";
import { bakedPermissions } from "./build/bake.ts";
import { runCompile, type SmokeResult, smokeRun } from "./build/compile.ts";
import { BuildError } from "./build/errors.ts";
import { type Packaged, packageTarget } from "./build/package.ts";
import {
  denoCacheDir,
  resolveRuntime,
  type RuntimeContext,
  type RuntimeSource,
} from "./build/runtime.ts";
import { buildDate, gitInfo, type Stage, stageSources, writeStamp } from "./build/stage.ts";
import { hostTarget, parseTargets, type Target } from "./build/targets.ts";

const ROOT = resolve(new URL("..", import.meta.url).pathname);

/** Defaults of the options; docs/deployment.md documents them. */
export const BUILD_DEFAULTS = {
  config: join(ROOT, "packaging/telemetry.kdl"),
  installedConfig: "/etc/telemetry/telemetry.kdl",
  workdir: "/var/lib/telemetry",
  out: join(ROOT, "dist"),
  dataDir: join(ROOT, "geo-data"),
} as const;

/** Files copied into every archive beside the binary (path in the project → name inside). */
const PACKAGED_FILES: readonly [string, string][] = [
  ["LICENSE", "LICENSE"],
  ["packaging/telemetry.service", "packaging/telemetry.service"],
  ["packaging/telemetry.kdl", "packaging/telemetry.kdl"],
  ["packaging/sentinel-agent.kdl", "packaging/sentinel-agent.kdl"],
  ["packaging/telemetry.sysusers", "packaging/telemetry.sysusers"],
  ["docs/deployment.md", "docs/deployment.md"],
];

/** Everything one build run needs. */
export interface BuildOptions {
  targets: Target[];
  config: string;
  installedConfig: string;
  workdir: string;
  out: string;
  dataDir: string;
  offline: boolean;
  check: boolean;
  smoke: boolean;
  archive: boolean;
  env: Readonly<Record<string, string | undefined>>;
}

/** What was built for one target. */
export interface TargetReport {
  target: string;
  binary: string;
  binaryBytes: number;
  /** The runtime's size when it was a file (the rest of the binary is the embedded payload). */
  runtimeBytes: number | null;
  runtime: string;
  smoke: SmokeResult | null;
  package: Packaged | null;
}

/** `build-report.json`. */
export interface BuildReport {
  version: string;
  commit: string | null;
  dirty: boolean;
  date: string;
  deno: string;
  config: string;
  workdir: string;
  permissions: string[];
  targets: TargetReport[];
}

const HELP = `deno task build [options]

Compiles the agent into one executable per target, with the permissions its config needs baked in.

  --target T             x86_64-unknown-linux-gnu | aarch64-unknown-linux-gnu (repeatable or
                         comma-separated; default: both)
  --config F             config whose permissions are baked in (default: packaging/telemetry.kdl)
  --installed-config P   where the service reads that config (default: ${BUILD_DEFAULTS.installedConfig})
  --workdir D            the service's working directory; relative config paths resolve against it
                         (default: ${BUILD_DEFAULTS.workdir})
  --out D                output directory (default: dist)
  --data-dir D           data folder embedded as geo-data/ (default: geo-data)
  --offline              never let deno compile try to download a runtime
  --no-check             skip the type check
  --no-smoke             do not run the host target's binary (\`telemetry version\`)
  --no-archive           skip the .tar.gz and .sha256 files

Runtime (deno compile's denort): DENORT_BIN_<TARGET> (e.g. DENORT_BIN_AARCH64_UNKNOWN_LINUX_GNU),
DENORT_BIN (used for the target its CPU matches), or the zip in the Deno cache; else a download.
TELEMETRY_BUILD_OFFLINE=1 is --offline. SOURCE_DATE_EPOCH fixes the build date.
`;

/** Build every target; throws `BuildError` with what to fix. */
export async function build(opts: BuildOptions, say = (s: string) => console.error(s)) {
  const permissions = await bakedPermissions(opts);
  say(`permissions for ${opts.installedConfig}: ${permissions.join(" ")}`);
  const ctx: RuntimeContext = {
    env: opts.env,
    denoDir: await denoCacheDir(),
    denoVersion: Deno.version.deno,
    offline: opts.offline,
  };
  const runtimes = [];
  for (const t of opts.targets) runtimes.push(await resolveRuntime(t, ctx));
  const git = await gitInfo(ROOT);
  const date = buildDate(opts.env);
  const stageRoot = await Deno.makeTempDir({ prefix: "telemetry-build-" });
  try {
    const stage = await stageSources(ROOT, opts.dataDir, join(stageRoot, "telemetry"));
    if (opts.check) await typeCheck(stage.dir, stage.moduleUrls);
    const shared = { opts, ctx, stage, permissions, git, date, say };
    const reports: TargetReport[] = [];
    for (const [i, target] of opts.targets.entries()) {
      reports.push(await buildTarget(target, runtimes[i], shared));
    }
    const report: BuildReport = {
      version: VERSION,
      commit: git.commit,
      dirty: git.dirty,
      date: date.toISOString(),
      deno: Deno.version.deno,
      config: opts.installedConfig,
      workdir: opts.workdir,
      permissions,
      targets: reports,
    };
    const text = JSON.stringify(report, null, 2) + "\n";
    await Deno.writeTextFile(join(opts.out, "build-report.json"), text);
    return report;
  } finally {
    await Deno.remove(stageRoot, { recursive: true });
  }
}

/** What every target's build shares. */
interface Shared {
  opts: BuildOptions;
  ctx: RuntimeContext;
  stage: Stage;
  permissions: string[];
  git: { commit: string | null; dirty: boolean };
  date: Date;
  say: (s: string) => void;
}

/** Stamp, compile, smoke-run and package one target. */
async function buildTarget(target: Target, runtime: RuntimeSource, s: Shared) {
  const stamp: BuildStamp = {
    stamped: true,
    version: VERSION,
    commit: s.git.commit,
    dirty: s.git.dirty,
    date: s.date.toISOString(),
    target: target.triple,
    config: s.opts.installedConfig,
    workdir: s.opts.workdir,
    permissions: s.permissions,
    data: s.stage.dataManifest,
  };
  await writeStamp(s.stage, stamp);
  const binary = join(s.opts.out, target.triple, "telemetry");
  await Deno.mkdir(join(s.opts.out, target.triple), { recursive: true });
  s.say(`compiling ${target.triple} (runtime: ${describe(runtime)})`);
  const includes = [...s.stage.moduleUrls, ...(s.stage.hasData ? ["geo-data"] : [])];
  const spec = {
    stageDir: s.stage.dir,
    target,
    output: binary,
    permissions: s.permissions,
    includes,
  };
  await runCompile(Deno.execPath(), spec, runtime, s.ctx);
  const smoke = s.opts.smoke && target === hostTarget()
    ? await smokeRun(binary, { version: VERSION, commit: s.git.commit })
    : null;
  const pkg = s.opts.archive
    ? await packageTarget({
      outDir: s.opts.out,
      version: VERSION,
      target: target.triple,
      binary,
      files: await packagedFiles(s.opts.dataDir),
      buildInfo: stamp,
      mtime: s.date,
    })
    : null;
  const report: TargetReport = {
    target: target.triple,
    binary,
    binaryBytes: (await Deno.stat(binary)).size,
    runtimeBytes: runtime.kind === "file" ? (await Deno.stat(runtime.path)).size : null,
    runtime: describe(runtime),
    smoke,
    package: pkg,
  };
  s.say(summary(report));
  return report;
}

/** Parse the command line (see HELP). */
export function parseBuildArgs(
  args: string[],
  env: Readonly<Record<string, string | undefined>>,
): BuildOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        target: { type: "string", multiple: true },
        config: { type: "string" },
        "installed-config": { type: "string" },
        workdir: { type: "string" },
        out: { type: "string" },
        "data-dir": { type: "string" },
        offline: { type: "boolean" },
        "no-check": { type: "boolean" },
        "no-smoke": { type: "boolean" },
        "no-archive": { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new BuildError("build_bad_argument", `${e instanceof Error ? e.message : e}\n\n${HELP}`);
  }
  const v = parsed.values;
  if (v.help) return "help";
  const config = v.config ? resolve(v.config) : BUILD_DEFAULTS.config;
  return {
    targets: parseTargets(v.target ?? []),
    config,
    installedConfig: v["installed-config"] ??
      (v.config ? config : BUILD_DEFAULTS.installedConfig),
    workdir: v.workdir ?? BUILD_DEFAULTS.workdir,
    out: v.out ? resolve(v.out) : BUILD_DEFAULTS.out,
    dataDir: v["data-dir"] ? resolve(v["data-dir"]) : BUILD_DEFAULTS.dataDir,
    offline: v.offline === true || env.TELEMETRY_BUILD_OFFLINE === "1",
    check: v["no-check"] !== true,
    smoke: v["no-smoke"] !== true,
    archive: v["no-archive"] !== true,
    env,
  };
}

async function typeCheck(stageDir: string, moduleUrls: string[]): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["check", "main.ts", ...moduleUrls],
    cwd: stageDir,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new BuildError("build_compile_failed", "Type check failed (see above)");
}

/** Operator files, and the data's licences, README and manifest, that ship beside the binary. */
async function packagedFiles(dataDir: string): Promise<{ path: string; name: string }[]> {
  const files = PACKAGED_FILES.map(([p, name]) => ({ path: join(ROOT, p), name }));
  const notice = /licen[cs]e|copying|notice|attribution|readme|manifest\.json/i;
  const walk = async (dir: string, rel: string, keep: boolean) => {
    for await (const e of Deno.readDir(dir)) {
      const path = join(dir, e.name);
      const name = `${rel}/${e.name}`;
      if (e.isDirectory) await walk(path, name, keep || notice.test(e.name));
      else if (e.isFile && (keep || notice.test(e.name))) files.push({ path, name });
    }
  };
  try {
    await walk(dataDir, "geo-data", false);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return files;
}

function describe(r: RuntimeSource): string {
  return r.kind === "file" ? `${r.from}=${r.path}` : r.kind === "cached" ? r.path : "download";
}

function summary(r: TargetReport): string {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  const parts = [`${r.target}: ${r.binary} ${mb(r.binaryBytes)}`];
  if (r.runtimeBytes !== null) parts.push(`payload ${mb(r.binaryBytes - r.runtimeBytes)}`);
  if (r.smoke) parts.push(`start-up (version) ${r.smoke.startupMs} ms`);
  if (r.package) {
    parts.push(`${r.package.archive} ${mb(r.package.archiveBytes)} sha256 ${r.package.sha256}`);
  }
  return parts.join("; ");
}

if (import.meta.main) {
  try {
    const opts = parseBuildArgs(Deno.args, Deno.env.toObject());
    if (opts === "help") {
      console.log(HELP);
    } else {
      await build(opts);
    }
  } catch (e) {
    if (!(e instanceof BuildError)) throw e;
    console.error(`build failed (${e.code}):\n${e.message}`);
    Deno.exit(1);
  }
}
