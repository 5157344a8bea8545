/**
 * Prepares what `deno compile` embeds: a copy of the agent's sources (`main.ts`, `src/`,
 * `deno.json`, `deno.lock`) and of its data (`geo-data/`) in a temporary directory, with
 * `src/build_stamp.json` stamped (version, git commit, build date, target, baked-in permissions,
 * data manifest). The work tree is never written. Build time only.
 * @module
 */

import { dirname, join, relative } from "node:path";
import type { BuildStamp } from "../../src/build_info.ts";

/** Files and folders of the project the binary is compiled from. */
export const STAGED_SOURCES: readonly string[] = ["main.ts", "deno.json", "deno.lock", "src"];

/** The stamp file, relative to the stage. */
export const STAMP_PATH = "src/build_stamp.json";

/** A staged copy of the sources. */
export interface Stage {
  dir: string;
  /** The data folder was staged as `geo-data/`. */
  hasData: boolean;
  /** `geo-data/manifest.json`, parsed, or null. */
  dataManifest: unknown;
  /** Modules loaded by URL (workers), relative to the stage: `src/pipeline/worker.ts`. */
  moduleUrls: string[];
}

/** Copy the sources of `root` and the data folder `dataDir` (if it exists) into `dir`. */
export async function stageSources(root: string, dataDir: string, dir: string): Promise<Stage> {
  await Deno.mkdir(dir, { recursive: true });
  for (const name of STAGED_SOURCES) {
    const from = join(root, name);
    if (await kind(from) === null) {
      if (name === "deno.lock") continue;
      throw new Error(`Cannot stage ${from}: it does not exist`);
    }
    await copyTree(from, join(dir, name));
  }
  const hasData = await kind(dataDir) === "dir";
  if (hasData) await copyTree(dataDir, join(dir, "geo-data"));
  return {
    dir,
    hasData,
    dataManifest: hasData ? await readJsonIfAny(join(dir, "geo-data", "manifest.json")) : null,
    moduleUrls: await findModuleUrls(dir),
  };
}

/** Write the stamp into the stage (before each target's compile). */
export async function writeStamp(stage: Stage, stamp: BuildStamp): Promise<void> {
  await Deno.writeTextFile(join(stage.dir, STAMP_PATH), JSON.stringify(stamp, null, 2) + "\n");
}

const MODULE_URL = /new URL\(\s*["'](\.{1,2}\/[^"']+\.ts)["']\s*,\s*import\.meta\.url\s*\)/g;

/**
 * `.ts` modules under `src/` that code loads by URL (`new URL("./x.ts", import.meta.url)`, as
 * `new Worker` needs): `deno compile` does not follow those, so the build `--include`s them.
 */
export async function findModuleUrls(dir: string): Promise<string[]> {
  const found = new Set<string>();
  for await (const file of walk(join(dir, "src"))) {
    if (!file.endsWith(".ts")) continue;
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(MODULE_URL)) {
      found.add(relative(dir, join(dirname(file), m[1])));
    }
  }
  return [...found].sort();
}

/** The commit of `root` and whether tracked files differ from it; nulls outside a git work tree. */
export async function gitInfo(root: string): Promise<{ commit: string | null; dirty: boolean }> {
  const git = (args: string[]) =>
    new Deno.Command("git", {
      args: ["-C", root, ...args],
      env: { GIT_OPTIONAL_LOCKS: "0" },
      stdout: "piped",
      stderr: "null",
    }).output().catch(() => null);
  const head = await git(["rev-parse", "HEAD"]);
  if (!head?.success) return { commit: null, dirty: false };
  const status = await git(["status", "--porcelain", "--untracked-files=no"]);
  const dirty = status?.success === true && status.stdout.length > 0;
  return { commit: new TextDecoder().decode(head.stdout).trim(), dirty };
}

/** The build date: `SOURCE_DATE_EPOCH` (seconds) when set, for reproducible archives. */
export function buildDate(env: Readonly<Record<string, string | undefined>>): Date {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch)) return new Date(Number(epoch) * 1000);
  return new Date(Math.floor(Date.now() / 1000) * 1000);
}

async function copyTree(from: string, to: string): Promise<void> {
  const k = await kind(from);
  if (k === "file") {
    await Deno.mkdir(dirname(to), { recursive: true });
    await Deno.copyFile(from, to);
    return;
  }
  if (k !== "dir") return;
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) await copyTree(join(from, e.name), join(to, e.name));
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) yield* walk(p);
    else if (e.isFile) yield p;
  }
}

/** "file", "dir", or null when absent (symlinks are followed). */
async function kind(path: string): Promise<"file" | "dir" | null> {
  try {
    const s = await Deno.stat(path);
    return s.isDirectory ? "dir" : s.isFile ? "file" : null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

async function readJsonIfAny(path: string): Promise<unknown> {
  if (await kind(path) !== "file") return null;
  return JSON.parse(await Deno.readTextFile(path));
}
