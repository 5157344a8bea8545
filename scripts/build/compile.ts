/**
 * Runs `deno compile` for one target: the argument list (baked-in permission flags, `--no-prompt`,
 * the URL-loaded modules and `geo-data/` as `--include`s), the runtime handed over through
 * `DENORT_BIN`, the failure turned into a `BuildError` that says what to provide; then a smoke run
 * of the binary (`telemetry version`) that also times its start-up. Build time only.
 * @module
 */

import { RUNTIME_FLAGS } from "../../src/runtime_flags.ts";
import { BuildError } from "./errors.ts";
import {
  isRuntimeDownloadFailure,
  type RuntimeContext,
  type RuntimeSource,
  runtimeUnavailableMessage,
} from "./runtime.ts";
import type { Target } from "./targets.ts";

/** One `deno compile` run. */
export interface CompileSpec {
  /** The staged sources (the command's working directory). */
  stageDir: string;
  target: Target;
  output: string;
  /** Permission flags baked into the binary. */
  permissions: readonly string[];
  /** Paths relative to the stage embedded beside the module graph. */
  includes: readonly string[];
}

/**
 * Baked in beside the permissions: never prompt (a missing permission fails, and the start-up
 * check names it), and no remote imports (the default allows a few hosts).
 */
export const HARDENING_FLAGS: readonly string[] = ["--no-prompt", "--deny-import"];

/** The `deno` arguments for `spec` (type checking is a separate step of the build). */
export function compileArgs(spec: CompileSpec): string[] {
  for (const flag of spec.permissions) {
    if (!/^--allow-[a-z]+=./.test(flag)) {
      throw new BuildError(
        "build_bad_argument",
        `Refusing to bake "${flag}": every permission must be scoped (--allow-NAME=VALUES)`,
      );
    }
  }
  return [
    "compile",
    "--no-check",
    "--target",
    spec.target.triple,
    "--output",
    spec.output,
    "--app-name",
    "telemetry",
    "--exclude-unused-npm",
    ...HARDENING_FLAGS,
    ...RUNTIME_FLAGS,
    ...spec.permissions,
    ...spec.includes.flatMap((p) => ["--include", p]),
    "--config",
    "deno.json",
    "main.ts",
  ];
}

/** The environment `deno compile` gets: `DENORT_BIN` set to this target's runtime, or unset. */
export function compileEnv(
  env: Readonly<Record<string, string | undefined>>,
  runtime: RuntimeSource,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && k !== "DENORT_BIN") out[k] = v;
  }
  if (runtime.kind === "file") out.DENORT_BIN = runtime.path;
  return out;
}

/** Run `deno compile`; throws `BuildError` naming what to provide when it fails. */
export async function runCompile(
  deno: string,
  spec: CompileSpec,
  runtime: RuntimeSource,
  ctx: RuntimeContext,
): Promise<void> {
  const out = await new Deno.Command(deno, {
    args: compileArgs(spec),
    cwd: spec.stageDir,
    env: compileEnv(ctx.env, runtime),
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.success) return;
  const stderr = new TextDecoder().decode(out.stderr);
  if (runtime.kind === "download" && isRuntimeDownloadFailure(stderr)) {
    throw new BuildError(
      "build_runtime_unavailable",
      `${runtimeUnavailableMessage(spec.target, ctx)}\n--- deno compile said ---\n${tail(stderr)}`,
    );
  }
  throw new BuildError(
    "build_compile_failed",
    `deno compile for ${spec.target.triple} failed (exit ${out.code}):\n${tail(stderr)}`,
  );
}

/** What a smoke run of a binary showed. */
export interface SmokeResult {
  output: string;
  /** Median wall time of `telemetry version`, process start to exit (ms). */
  startupMs: number;
  runs: number;
}

/**
 * Run `<binary> version` `runs` times: it must print `telemetry <version>` and the stamped commit
 * (a runtime that is not a denort prints something else), and its median time is the start-up.
 */
export async function smokeRun(
  binary: string,
  expect: { version: string; commit: string | null },
  runs = 5,
): Promise<SmokeResult> {
  const times: number[] = [];
  let output = "";
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const out = await new Deno.Command(binary, {
      args: ["version"],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
    times.push(performance.now() - t0);
    output = new TextDecoder().decode(out.stdout);
    const ok = out.success && output.startsWith(`telemetry ${expect.version}\n`) &&
      (expect.commit === null || output.includes(expect.commit));
    if (!ok) {
      const said = tail(output + new TextDecoder().decode(out.stderr));
      throw new BuildError(
        "build_smoke_failed",
        `${binary} version did not print "telemetry ${expect.version}" with its commit; ` +
          `was the runtime a denort of the same Deno version? (the deno binary is not one)\n${said}`,
      );
    }
  }
  times.sort((a, b) => a - b);
  return { output, startupMs: Math.round(times[Math.floor(runs / 2)] * 10) / 10, runs };
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
