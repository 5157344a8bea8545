/**
 * A real ClickHouse server for tests and by hand: Debian's `clickhouse-server` (18.16 on
 * bookworm), installed with apt-get when missing, started on free loopback ports in a temp dir
 * with a generated config (HTTP and native ports on 127.0.0.1 only, data, logs and users in the
 * temp dir, UTC). Users: `default` (no password, for checks) and `writer` (password
 * `writer-secret`, what the sink uses). Results are read back with `clickhouse-client`.
 *
 * By hand:
 *   deno run -A scripts/services/clickhouse.ts start   # prints URL and ports, stays up
 *   deno run -A scripts/services/clickhouse.ts stop
 * @module
 */

import { freePorts, run, startInDir, startRecorded, stopRecorded } from "./_process.ts";

import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const STATE_FILE = `${ROOT}/.cache/clickhouse/by-hand.json`;
const READY_TIMEOUT_MS = 30_000;
const STOP_KILL_AFTER_MS = 15_000;

/** The password of the `writer` user. */
export const WRITER_PASSWORD = "writer-secret";

/** A server this process started. */
export interface ClickHouseServer {
  /** `http://127.0.0.1:PORT` (HTTP interface). */
  url: string;
  httpPort: number;
  tcpPort: number;
  dir: string;
  /** The server's version, e.g. `18.16.1`. */
  version: string;
  /** Run SQL with `clickhouse-client` (user `default`); resolves to its TSV output. */
  query(sql: string): Promise<string>;
  /** Run a `SELECT` with `clickhouse-client` and parse its rows (`FORMAT JSONEachRow`). */
  rows<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Stop the server cleanly (SIGTERM, data kept), e.g. to simulate a restart. */
  stopServer(): Promise<void>;
  /** Kill the server (SIGKILL, data kept), e.g. to simulate a crash. */
  killServer(): Promise<void>;
  /** Start it again on the same ports and data; resolves when it answers. */
  startServer(): Promise<void>;
  readonly running: boolean;
  /** Stop and delete the temp dir. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Install `clickhouse-server` and `clickhouse-client` from Debian when missing (idempotent). */
export async function ensureClickHouse(): Promise<void> {
  if (await onPath("clickhouse-server") && await onPath("clickhouse-client")) return;
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  await run("apt-get", ["update", "-qq"], {
    what: "apt-get update (needs root and Debian mirrors)",
    env,
  });
  await run(
    "apt-get",
    ["install", "-y", "-q", "--no-install-recommends", "clickhouse-server", "clickhouse-client"],
    { what: "installing clickhouse-server and clickhouse-client from Debian", env },
  );
  if (!await onPath("clickhouse-server")) {
    throw new Error("clickhouse-server is still not on PATH after apt-get install");
  }
}

/**
 * Install if needed, start a server and wait until it answers.
 *
 * @example
 * ```ts
 * await using ch = await startClickHouse();
 * console.log(await ch.query("SELECT version()"));
 * ```
 */
export async function startClickHouse(): Promise<ClickHouseServer> {
  await ensureClickHouse();
  const dir = await Deno.makeTempDir({ prefix: "telemetry-clickhouse-" });
  const [httpPort, tcpPort] = await freePorts(2);
  await writeConfig(dir, httpPort, tcpPort);
  const { server, dispose: stop } = await startInDir(
    dir,
    () => launch(dir, httpPort, false),
    STOP_KILL_AFTER_MS,
  );
  const startServer = server.start;
  const stopServer = server.stop;
  const query = (sql: string) => clickhouseClient(tcpPort, sql);
  const version = (await query("SELECT version()")).trim();
  return {
    url: `http://127.0.0.1:${httpPort}`,
    httpPort,
    tcpPort,
    dir,
    version,
    query,
    async rows<T>(sql: string) {
      const text = await query(`${sql} FORMAT JSONEachRow`);
      return text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as T);
    },
    stopServer: () => stopServer(),
    killServer: () => stopServer("SIGKILL"),
    startServer,
    get running() {
      return server.running;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** `clickhouse-client --query` against a local server; throws with its stderr on failure. */
export function clickhouseClient(tcpPort: number, sql: string): Promise<string> {
  const args = ["--host", "127.0.0.1", "--port", String(tcpPort), "--multiquery", "--query", sql];
  return run("clickhouse-client", args, { what: `clickhouse-client: ${sql.slice(0, 200)}` });
}

async function writeConfig(dir: string, httpPort: number, tcpPort: number): Promise<void> {
  for (const sub of ["data", "tmp", "user_files", "format_schemas", "log"]) {
    await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
  }
  await Deno.writeTextFile(`${dir}/config.xml`, serverConfig(dir, httpPort, tcpPort));
  await Deno.writeTextFile(`${dir}/users.xml`, USERS);
}

function serverConfig(dir: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>${dir}/log/server.log</log>
    <errorlog>${dir}/log/server.err.log</errorlog>
    <size>50M</size>
    <count>1</count>
  </logger>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>100</max_concurrent_queries>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
  <query_log>
    <database>system</database>
    <table>query_log</table>
    <flush_interval_milliseconds>1000</flush_interval_milliseconds>
  </query_log>
</yandex>
`;
}

const USERS = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>4000000000</max_memory_usage><log_queries>1</log_queries></default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <writer>
      <password>${WRITER_PASSWORD}</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </writer>
  </users>
  <quotas><default></default></quotas>
</yandex>
`;

/** Run the server; resolves once `/ping` answers (rejects with its log if it exits first). */
async function launch(
  dir: string,
  httpPort: number,
  detached: boolean,
): Promise<Deno.ChildProcess> {
  const child = new Deno.Command("clickhouse-server", {
    args: [`--config-file=${dir}/config.xml`],
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached,
  }).spawn();
  let exited = false;
  child.status.then(() => (exited = true));
  const t0 = performance.now();
  while (!exited && performance.now() - t0 < READY_TIMEOUT_MS) {
    if (await pingOk(httpPort)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!exited) child.kill("SIGKILL");
  await child.status;
  const log = await Deno.readTextFile(`${dir}/log/server.err.log`).catch(() => "");
  throw new Error(
    `clickhouse-server did not answer on port ${httpPort} within ${READY_TIMEOUT_MS} ms` +
      `${exited ? " (it exited)" : ""}\n${log.slice(-3000)}`,
  );
}

async function pingOk(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/ping`);
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false; // not listening yet: the caller polls until its deadline
  }
}

async function onPath(cmd: string): Promise<boolean> {
  const out = await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
    .output();
  return out.success;
}

/** `start`: a detached server whose pid and ports go to .cache/clickhouse/by-hand.json. */
function startByHand(): Promise<void> {
  return startRecorded(STATE_FILE, "ClickHouse", async () => {
    await ensureClickHouse();
    const dir = await Deno.makeTempDir({ prefix: "telemetry-clickhouse-" });
    const [httpPort, tcpPort] = await freePorts(2);
    await writeConfig(dir, httpPort, tcpPort);
    const child = await launch(dir, httpPort, true);
    const state = {
      pid: child.pid,
      url: `http://127.0.0.1:${httpPort}`,
      httpPort,
      tcpPort,
      dir,
      users: { default: "", writer: WRITER_PASSWORD },
    };
    return { child, state };
  });
}

if (import.meta.main) {
  const cmd = Deno.args[0];
  if (cmd === "start") await startByHand();
  else if (cmd === "stop") await stopRecorded(STATE_FILE, "ClickHouse", STOP_KILL_AFTER_MS);
  else {
    console.error("usage: deno run -A scripts/services/clickhouse.ts start|stop");
    Deno.exit(2);
  }
}
