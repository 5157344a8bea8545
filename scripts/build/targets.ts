/**
 * The target matrix of `deno task build`: each target's Rust triple (as `deno compile --target`
 * spells it), its CPU, the ELF machine number a runtime for it carries, and the environment
 * variable naming its denort runtime. Build time only.
 * @module
 */

import { BuildError } from "./errors.ts";

/** One target the build can produce. */
export interface Target {
  /** `deno compile --target` value. */
  triple: string;
  /** `uname -m` spelling. */
  arch: "x86_64" | "aarch64";
  /** ELF `e_machine`: 62 (x86-64) or 183 (AArch64). */
  elfMachine: number;
  /** The npm package carrying the `deno` binary of this target (for ARM tests). */
  denoPackage: string;
}

/** Every target the build knows, in build order. */
export const TARGETS: readonly Target[] = [
  {
    triple: "x86_64-unknown-linux-gnu",
    arch: "x86_64",
    elfMachine: 62,
    denoPackage: "@deno/linux-x64-glibc",
  },
  {
    triple: "aarch64-unknown-linux-gnu",
    arch: "aarch64",
    elfMachine: 183,
    denoPackage: "@deno/linux-arm64-glibc",
  },
];

/** The targets a build makes when none is named: all of them. */
export const DEFAULT_TARGETS: readonly string[] = TARGETS.map((t) => t.triple);

/** The targets named (repeatable `--target`, or comma-separated), checked; all when none. */
export function parseTargets(names: readonly string[]): Target[] {
  const wanted = names.flatMap((n) => n.split(",")).map((n) => n.trim()).filter(Boolean);
  if (wanted.length === 0) return [...TARGETS];
  const out: Target[] = [];
  for (const name of wanted) {
    const t = TARGETS.find((x) => x.triple === name || x.arch === name);
    if (!t) {
      throw new BuildError(
        "build_unknown_target",
        `Unknown target "${name}": use one of ${DEFAULT_TARGETS.join(", ")}`,
      );
    }
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

/** The variable naming this target's denort: `DENORT_BIN_AARCH64_UNKNOWN_LINUX_GNU`. */
export function runtimeEnvName(target: Target): string {
  return `DENORT_BIN_${target.triple.toUpperCase().replaceAll("-", "_")}`;
}

/** The target a host process runs natively, if the build knows it. */
export function hostTarget(): Target | undefined {
  return TARGETS.find((t) => t.triple === Deno.build.target);
}
