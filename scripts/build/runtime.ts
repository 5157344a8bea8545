/**
 * Finds the denort runtime `deno compile` needs for a target. `deno compile` downloads
 * `denort-<target>.zip` from dl.deno.land into `$DENO_DIR/dl/` unless `DENORT_BIN` names a
 * runtime file; where that host cannot be reached the build takes the runtime from
 * `DENORT_BIN_<TARGET>` (or `DENORT_BIN` when its CPU matches the target), or the zip already in
 * the Deno cache, and otherwise fails with a message that says what to provide.
 * Build time only.
 * @module
 */

import { BuildError } from "./errors.ts";
import { runtimeEnvName, type Target } from "./targets.ts";

/** Where a target's runtime comes from. */
export type RuntimeSource =
  | { kind: "file"; path: string; from: string }
  | { kind: "cached"; path: string }
  | { kind: "download" };

/** What runtime resolution looks at. */
export interface RuntimeContext {
  env: Readonly<Record<string, string | undefined>>;
  /** The Deno cache directory (`deno info --json` → `denoDir`). */
  denoDir: string;
  /** The Deno version compiling; its denort must be the same version. */
  denoVersion: string;
  /** Refuse to let `deno compile` try the download. */
  offline: boolean;
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46];
const ARCH_BY_MACHINE: Readonly<Record<number, string>> = { 62: "x86_64", 183: "aarch64" };

/** The runtime to use for `target`; throws `BuildError` when there is none to be had. */
export async function resolveRuntime(target: Target, ctx: RuntimeContext): Promise<RuntimeSource> {
  const own = runtimeEnvName(target);
  const ownPath = ctx.env[own];
  if (ownPath) {
    await checkRuntimeFile(ownPath, own, target);
    return { kind: "file", path: ownPath, from: own };
  }
  const shared = ctx.env.DENORT_BIN;
  if (shared) {
    const machine = await readElfMachine(shared, "DENORT_BIN");
    if (machine === target.elfMachine) return { kind: "file", path: shared, from: "DENORT_BIN" };
  }
  const cached = cachedRuntimePath(ctx.denoDir, ctx.denoVersion, target);
  if (await exists(cached)) return { kind: "cached", path: cached };
  if (ctx.offline) {
    throw new BuildError("build_runtime_unavailable", runtimeUnavailableMessage(target, ctx));
  }
  return { kind: "download" };
}

/** Where `deno compile` caches the runtime zip it downloads for `target`. */
export function cachedRuntimePath(denoDir: string, version: string, target: Target): string {
  return `${denoDir}/dl/release/v${version}/denort-${target.triple}.zip`;
}

/** The message for a target whose runtime can be neither found nor downloaded. */
export function runtimeUnavailableMessage(target: Target, ctx: RuntimeContext): string {
  const zip = `denort-${target.triple}.zip`;
  return [
    `deno compile needs the denort runtime of Deno ${ctx.denoVersion} for ${target.triple}, ` +
    `and it is neither given nor cached, and dl.deno.land cannot be reached (or --offline was given).`,
    `Provide one of:`,
    `  ${
      runtimeEnvName(target)
    }=/path/to/denort   the denort binary of Deno ${ctx.denoVersion} for ` +
    `${target.arch} (unzipped from ${zip})`,
    `  DENORT_BIN=/path/to/denort   the same, used for whichever target its CPU matches`,
    `  ${cachedRuntimePath(ctx.denoDir, ctx.denoVersion, target)}   the zip itself, where ` +
    `deno compile caches it`,
    `The deno binary itself cannot stand in: it does not run the embedded program.`,
    ...(ctx.env.DENORT_BIN
      ? [`(DENORT_BIN=${ctx.env.DENORT_BIN} is not a runtime for ${target.arch}.)`]
      : []),
  ].join("\n");
}

/** True when `deno compile` failed because it could not fetch the runtime. */
export function isRuntimeDownloadFailure(stderr: string): boolean {
  return /dl\.deno\.land|Setting up base binary|denort-[a-z0-9_-]+\.zip/.test(stderr);
}

/** The ELF machine of the file at `path`; throws `BuildError` when it is missing or not ELF. */
export async function readElfMachine(path: string, from: string): Promise<number> {
  let head: Uint8Array;
  try {
    using file = await Deno.open(path, { read: true });
    head = new Uint8Array(20);
    const n = await file.read(head);
    head = head.subarray(0, n ?? 0);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new BuildError(
      "build_runtime_missing",
      `${from}=${path}: cannot read the runtime (${reason}); point it at a denort binary`,
      { cause: e },
    );
  }
  const machine = elfMachine(head);
  if (machine === null) {
    throw new BuildError(
      "build_runtime_wrong_arch",
      `${from}=${path} is not an ELF executable; point it at a Linux denort binary`,
    );
  }
  return machine;
}

/** `e_machine` of an ELF header, or null when the bytes are not one. */
export function elfMachine(head: Uint8Array): number | null {
  if (head.length < 20 || ELF_MAGIC.some((b, i) => head[i] !== b)) return null;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  return view.getUint16(18, head[5] === 1);
}

async function checkRuntimeFile(path: string, from: string, target: Target): Promise<void> {
  const machine = await readElfMachine(path, from);
  if (machine !== target.elfMachine) {
    const arch = ARCH_BY_MACHINE[machine] ?? `ELF machine ${machine}`;
    throw new BuildError(
      "build_runtime_wrong_arch",
      `${from}=${path} is a runtime for ${arch}, not ${target.arch}: ` +
        `give the denort of ${target.triple}`,
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** The Deno cache directory, as `deno info --json` reports it. */
export async function denoCacheDir(deno: string = Deno.execPath()): Promise<string> {
  const out = await new Deno.Command(deno, { args: ["info", "--json"], stderr: "inherit" })
    .output();
  if (!out.success) throw new Error(`\`${deno} info --json\` failed with code ${out.code}`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir?: unknown };
  if (typeof info.denoDir !== "string") throw new Error("`deno info --json` gave no denoDir");
  return info.denoDir;
}
