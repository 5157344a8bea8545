/**
 * A real S3-compatible server for tests and by hand: SeaweedFS (`github.com/seaweedfs/seaweedfs`,
 * Apache-2.0) built from the Go module proxy into `.cache/seaweedfs/bin/weed` on first use
 * (~8 min cold on 2 cores, then cached), run as `weed server -s3` on free loopback ports in a
 * temp dir (ready once it can store a file), with one identity (`AKIDTELEMETRYTEST` / `telemetry-test-secret-key`) so requests
 * must be SigV4-signed. `go install …@version` refuses the module (its go.mod has `replace`
 * directives), so the build runs `go build ./weed` inside the downloaded module.
 *
 * By hand:
 *   deno run -A scripts/services/seaweedfs.ts build   # build and cache the binary only
 *   deno run -A scripts/services/seaweedfs.ts start   # prints endpoint and keys, stays up
 *   deno run -A scripts/services/seaweedfs.ts stop
 * @module
 */

import { run, startInDir, startRecorded, stopRecorded } from "./_process.ts";

import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const CACHE = `${ROOT}/.cache/seaweedfs`;
/** The pinned SeaweedFS version (a pseudo-version: the project's tags are not semver). */
export const SEAWEEDFS_VERSION = "v0.0.0-20261109003541-7506e5f91cd6";
const MODULE = "github.com/seaweedfs/seaweedfs";
export const WEED = `${CACHE}/bin/weed`;
const STATE_FILE = `${CACHE}/by-hand.json`;
const READY_TIMEOUT_MS = 90_000;
/** `weed server` often ignores SIGTERM for a long while; a stop kills it after this. */
const STOP_KILL_AFTER_MS = 3_000;

/** The one identity the server knows. */
export const S3_ACCESS_KEY = "AKIDTELEMETRYTEST";
export const S3_SECRET_KEY = "telemetry-test-secret-key";

/** A server this process started. */
export interface SeaweedServer {
  /** `http://127.0.0.1:PORT`, the S3 endpoint (path-style). */
  endpoint: string;
  dir: string;
  /** Stop the server (SIGTERM, SIGKILL after 3 s; data kept): a real outage. */
  stopServer(): Promise<void>;
  /** Start it again on the same ports and data; resolves when S3 answers. */
  startServer(): Promise<void>;
  readonly running: boolean;
  /** Stop and delete the temp dir. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * The `weed` binary, built from the Go module proxy when it is not cached yet (idempotent).
 * Resolves to its path and how long a build took (0 when cached).
 */
export async function ensureWeed(): Promise<{ path: string; buildSeconds: number }> {
  if (await works(WEED)) return { path: WEED, buildSeconds: 0 };
  const t0 = performance.now();
  const info = JSON.parse(
    await run("go", ["mod", "download", "-json", `${MODULE}@${SEAWEEDFS_VERSION}`], {
      what: `downloading ${MODULE}@${SEAWEEDFS_VERSION} from the Go module proxy`,
    }),
  );
  await Deno.mkdir(`${CACHE}/bin`, { recursive: true });
  const tmp = `${WEED}.tmp-${Deno.pid}`;
  await run("go", ["build", "-o", tmp, "./weed"], {
    cwd: info.Dir,
    what: "building SeaweedFS (go build ./weed)",
    env: { GOFLAGS: "-buildvcs=false -mod=readonly" },
  });
  await Deno.rename(tmp, WEED);
  return { path: WEED, buildSeconds: (performance.now() - t0) / 1000 };
}

/**
 * Build if needed, start `weed server -s3` and wait until S3 answers.
 *
 * @example
 * ```ts
 * await using s3 = await startSeaweed();
 * console.log(s3.endpoint); // http://127.0.0.1:PORT
 * ```
 */
export async function startSeaweed(): Promise<SeaweedServer> {
  await ensureWeed();
  const dir = await Deno.makeTempDir({ prefix: "telemetry-seaweedfs-" });
  const ports = weedPorts();
  await writeConfig(dir);
  const { server, dispose: stop } = await startInDir(
    dir,
    () => launch(dir, ports, false),
    STOP_KILL_AFTER_MS,
  );
  const startServer = server.start;
  const stopServer = server.stop;
  return {
    endpoint: `http://127.0.0.1:${ports.s3}`,
    dir,
    stopServer: () => stopServer(),
    startServer,
    get running() {
      return server.running;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

interface WeedPorts {
  master: number;
  volume: number;
  filer: number;
  s3: number;
}

async function writeConfig(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/data`, { recursive: true });
  const identities = {
    identities: [{
      name: "telemetry",
      credentials: [{ accessKey: S3_ACCESS_KEY, secretKey: S3_SECRET_KEY }],
      actions: ["Admin", "Read", "Write", "List", "Tagging"],
    }],
  };
  await Deno.writeTextFile(`${dir}/s3.json`, JSON.stringify(identities));
}

function serverArgs(dir: string, p: WeedPorts): string[] {
  // Each HTTP port's gRPC port is that port + 10000 (the S3 gateway's cannot be set).
  return [
    "server",
    "-ip=127.0.0.1",
    "-ip.bind=127.0.0.1",
    `-dir=${dir}/data`,
    `-master.port=${p.master}`,
    `-master.port.grpc=${p.master + 10000}`,
    `-volume.port=${p.volume}`,
    `-volume.port.grpc=${p.volume + 10000}`,
    "-volume.preStopSeconds=0",
    "-master.volumeSizeLimitMB=64",
    "-filer",
    `-filer.port=${p.filer}`,
    `-filer.port.grpc=${p.filer + 10000}`,
    "-s3",
    `-s3.port=${p.s3}`,
    `-s3.config=${dir}/s3.json`,
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    "-s3.autoCreateBucket=false",
  ];
}

/** Run the server; resolves once S3 answers (rejects with its log if it exits first). */
async function launch(
  dir: string,
  ports: WeedPorts,
  detached: boolean,
): Promise<Deno.ChildProcess> {
  const log = await Deno.open(`${dir}/weed.log`, { write: true, create: true, append: true });
  const child = new Deno.Command(WEED, {
    args: serverArgs(dir, ports),
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "piped", // weed logs to stderr
    detached,
  }).spawn();
  const pipes = child.stderr.pipeTo(log.writable);
  let exited = false;
  child.status.then(() => (exited = true));
  const t0 = performance.now();
  while (!exited && performance.now() - t0 < READY_TIMEOUT_MS) {
    if (await s3Answers(ports.s3) && await writable(ports.filer)) return child;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (!exited) child.kill("SIGKILL");
  await child.status;
  await pipes.catch(() => {});
  const text = await Deno.readTextFile(`${dir}/weed.log`).catch(() => "");
  throw new Error(
    `SeaweedFS S3 did not answer on port ${ports.s3} within ${READY_TIMEOUT_MS} ms` +
      `${exited ? " (it exited)" : ""}\n${text.slice(-3000)}`,
  );
}

/** True once the S3 gateway answers with S3's XML and a bucket can be listed by its filer. */
async function s3Answers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    const body = await res.text();
    return body.includes("<Error>") || body.includes("ListAllMyBucketsResult");
  } catch {
    return false; // not listening yet: the caller polls until its deadline
  }
}

/**
 * True once a file can be stored: the first write waits for volumes to be created (~8 s on a
 * fresh server; ~30 s after a restart while the master re-learns its volumes).
 */
async function writable(filerPort: number): Promise<boolean> {
  try {
    const form = new FormData();
    form.append("file", new Blob(["probe"]), "probe");
    const res = await fetch(`http://127.0.0.1:${filerPort}/.probe/ready`, {
      method: "POST",
      body: form,
      signal: AbortSignal.timeout(2000),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false; // not ready yet: the caller polls until its deadline
  }
}

/** Four HTTP ports whose port + 10000 (their gRPC port) is free as well. */
function weedPorts(): WeedPorts {
  const picked: number[] = [];
  for (let tries = 0; picked.length < 4 && tries < 500; tries++) {
    const p = 20000 + Math.floor(Math.random() * 35000);
    if (
      picked.some((q) =>
        Math.abs(q - p) < 2 || Math.abs(q + 10000 - p) < 2 || Math.abs(q - 10000 - p) < 2
      )
    ) continue;
    if (free(p) && free(p + 10000)) picked.push(p);
  }
  if (picked.length < 4) throw new Error("no free loopback port pairs (p, p+10000) for SeaweedFS");
  const [master, volume, filer, s3] = picked;
  return { master, volume, filer, s3 };
}

function free(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false; // in use
  }
}

async function works(path: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(path, { args: ["version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false; // not built yet
  }
}

function startByHand(): Promise<void> {
  return startRecorded(STATE_FILE, "SeaweedFS", async () => {
    await ensureWeed();
    const dir = await Deno.makeTempDir({ prefix: "telemetry-seaweedfs-" });
    const ports = weedPorts();
    await writeConfig(dir);
    const child = await launch(dir, ports, true);
    const state = {
      pid: child.pid,
      endpoint: `http://127.0.0.1:${ports.s3}`,
      accessKey: S3_ACCESS_KEY,
      secretKey: S3_SECRET_KEY,
      dir,
    };
    return { child, state };
  });
}

if (import.meta.main) {
  const cmd = Deno.args[0];
  if (cmd === "build") {
    const { path, buildSeconds } = await ensureWeed();
    console.log(
      buildSeconds > 0 ? `built ${path} in ${buildSeconds.toFixed(0)} s` : `${path} is cached`,
    );
  } else if (cmd === "start") await startByHand();
  else if (cmd === "stop") await stopRecorded(STATE_FILE, "SeaweedFS", STOP_KILL_AFTER_MS);
  else {
    console.error("usage: seaweedfs.ts build | start | stop");
    Deno.exit(2);
  }
}
