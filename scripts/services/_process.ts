/**
 * What the service scripts (Kafka, ClickHouse, SeaweedFS) share: running a tool and reporting
 * its output on failure, checking and stopping processes, free loopback ports, and the
 * by-hand `start` and `stop` of a detached server recorded in a state file. Test and operator tooling only.
 * @module
 */

import { dirname } from "node:path";

export interface RunOptions {
  /** What the command is for, named in the error when it fails. */
  what: string;
  cwd?: string;
  env?: Record<string, string>;
}

/** Run `cmd` to completion; its stdout, or an error carrying its last output and exit code. */
export async function run(cmd: string, args: string[], opts: RunOptions): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new Error(`${opts.what}: cannot run ${cmd} (${(e as Error).message}); is it installed?`);
  }
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr);
    throw new Error(
      `${opts.what}: ${cmd} exited with ${out.code}\n${text.slice(-2000)}${err.slice(-3000)}`,
    );
  }
  return text;
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false; // no such process
  }
}

/** Send `signal`, then SIGKILL if the child is still there after `killAfterMs`. */
export async function terminate(
  child: Deno.ChildProcess,
  signal: Deno.Signal,
  killAfterMs: number,
): Promise<void> {
  try {
    child.kill(signal);
  } catch {
    return; // already exited
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited meanwhile
    }
  }, killAfterMs);
  await child.status;
  clearTimeout(timer);
}

/** `n` distinct free loopback ports (bound, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  await Promise.resolve();
  return ports;
}

/**
 * `stop` for a server started detached by `start`: its `{pid, dir}` are in `stateFile`.
 * SIGTERM, SIGKILL after `killAfterMs`, then its directory and the state file are removed.
 */
export async function stopRecorded(stateFile: string, name: string, killAfterMs: number) {
  const state = await readRecorded(stateFile);
  if (!state) return console.log(`${name} is not running (no state file)`);
  if (alive(state.pid)) {
    Deno.kill(state.pid, "SIGTERM");
    const t0 = performance.now();
    while (alive(state.pid) && performance.now() - t0 < killAfterMs) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (alive(state.pid)) Deno.kill(state.pid, "SIGKILL");
  }
  await Deno.remove(state.dir, { recursive: true }).catch(() => {});
  await Deno.remove(stateFile);
  console.log(`stopped ${name} (pid ${state.pid})`);
}

/**
 * A by-hand `start`: unless the server recorded in `stateFile` is alive, `start` one detached;
 * its state (pid, dir, endpoints) goes to `stateFile` and stdout, and this process exits.
 */
export async function startRecorded(
  stateFile: string,
  name: string,
  start: () => Promise<{ child: Deno.ChildProcess; state: { pid: number; dir: string } }>,
): Promise<void> {
  const recorded = await readRecorded(stateFile);
  if (recorded && alive(recorded.pid)) {
    console.log(`${name} is already running:\n${JSON.stringify(recorded, null, 2)}`);
    return;
  }
  const { child, state } = await start();
  await Deno.mkdir(dirname(stateFile), { recursive: true });
  await Deno.writeTextFile(stateFile, JSON.stringify(state, null, 2));
  console.log(JSON.stringify(state, null, 2));
  child.unref();
  Deno.exit(0);
}

/** The `{pid, dir, …}` a by-hand `start` recorded, or null when there is none. */
export async function readRecorded(
  stateFile: string,
): Promise<{ pid: number; dir: string } | null> {
  try {
    return JSON.parse(await Deno.readTextFile(stateFile));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** A server process that can be stopped and started again (fault tests restart servers). */
export function restartable(launch: () => Promise<Deno.ChildProcess>, killAfterMs: number) {
  let child: Deno.ChildProcess | undefined;
  return {
    get running(): boolean {
      return child !== undefined;
    },
    async start(): Promise<void> {
      if (child === undefined) child = await launch();
    },
    async stop(signal: Deno.Signal = "SIGTERM"): Promise<void> {
      if (child === undefined) return;
      const c = child;
      child = undefined;
      await terminate(c, signal, killAfterMs);
    },
  };
}

/**
 * Start a restartable server whose files live in `dir`: when the first start fails `dir` is
 * removed; `dispose` kills the server and removes `dir`.
 */
export async function startInDir(
  dir: string,
  launch: () => Promise<Deno.ChildProcess>,
  killAfterMs: number,
) {
  const server = restartable(launch, killAfterMs);
  const removeDir = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  try {
    await server.start();
  } catch (e) {
    await removeDir();
    throw e;
  }
  const dispose = async () => {
    await server.stop("SIGKILL");
    await removeDir();
  };
  return { server, dispose };
}
