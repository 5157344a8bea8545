/**
 * A real single-node Apache Kafka broker (KRaft mode) for tests and by hand.
 *
 * The broker jars come from Maven Central (`mvn dependency:copy-dependencies` of
 * org.apache.kafka:kafka_2.13) into `.cache/kafka/<version>/libs`, once. Each start writes a
 * KRaft config in a temp dir on free loopback ports, formats the storage with
 * `kafka.tools.StorageTool` (adding SCRAM users), and runs `kafka.Kafka`. Listeners:
 * PLAINTEXT, SASL_PLAINTEXT (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and SSL (a self-signed
 * certificate made with keytool; its PEM is `caFile`). Broker-side topic auto-creation is off.
 *
 * By hand:
 *   deno run -A scripts/services/kafka.ts start    # prints the bootstrap addresses, stays up
 *   deno run -A scripts/services/kafka.ts status
 *   deno run -A scripts/services/kafka.ts stop
 * Needs java (17+) and mvn on PATH; kcat (Debian package `kcat`) to read topics.
 * @module
 */

import { freePorts, run, startRecorded, stopRecorded } from "./_process.ts";

import { fileURLToPath } from "node:url";

/** The broker version fetched from Maven Central. */
export const KAFKA_VERSION = "3.9.1";
const SCALA = "2.13";
const ROOT = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");
const CACHE = `${ROOT}/.cache/kafka/${KAFKA_VERSION}`;
const STATE_FILE = `${ROOT}/.cache/kafka/by-hand.json`;
/** The broker's self-signed TLS keystore and its PEM, made once (valid for 10 years). */
const TLS_DIR = `${ROOT}/.cache/kafka/tls`;
const READY_TIMEOUT_MS = 60_000;

/** SASL users the broker knows (PLAIN and both SCRAM mechanisms). */
export const KAFKA_USERS: Readonly<Record<string, string>> = {
  alice: "alice-secret",
};

/** Where a running broker listens and where its files are. */
export interface KafkaEndpoints {
  /** PLAINTEXT `127.0.0.1:port`. */
  bootstrap: string;
  /** SASL_PLAINTEXT listener. */
  saslBootstrap: string;
  /** SSL listener (certificate for 127.0.0.1 and localhost). */
  sslBootstrap: string;
  /** PEM of the broker's self-signed certificate (trust it as the CA). */
  caFile: string;
  dir: string;
}

/** A broker this process started. */
export interface KafkaBroker extends KafkaEndpoints {
  /** Stop the broker process (data kept), e.g. to simulate an outage. */
  stopBroker(): Promise<void>;
  /** Start it again on the same ports and data. */
  startBroker(): Promise<void>;
  readonly running: boolean;
  /** Stop and delete the temp dir. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Download the broker jars once; returns the classpath glob. */
export async function ensureKafkaJars(): Promise<string> {
  const libs = `${CACHE}/libs`;
  const marker = `${CACHE}/.complete`;
  if (await exists(marker)) return `${libs}/*`;
  await Deno.mkdir(CACHE, { recursive: true });
  await Deno.writeTextFile(`${CACHE}/pom.xml`, pom());
  await run("mvn", [
    "-B",
    "-q",
    "-f",
    `${CACHE}/pom.xml`,
    "dependency:copy-dependencies",
    `-DoutputDirectory=${libs}`,
    "-DincludeScope=runtime",
  ], { what: "resolving the Kafka broker jars with Maven (needs mvn and Maven Central)" });
  await Deno.writeTextFile(marker, new Date().toISOString());
  return `${libs}/*`;
}

/**
 * Start a broker (jars fetched on first use) and wait until it serves.
 *
 * @example
 * ```ts
 * await using kafka = await startKafka();
 * console.log(kafka.bootstrap); // 127.0.0.1:PORT
 * ```
 */
export async function startKafka(): Promise<KafkaBroker> {
  const { classpath, endpoints } = await prepareBroker();
  const dir = endpoints.dir;
  let child: Deno.ChildProcess | undefined;
  const startBroker = async () => {
    if (child !== undefined) return;
    child = await launch(classpath, dir, false);
  };
  const stopBroker = async () => {
    if (child === undefined) return;
    const c = child;
    child = undefined;
    await terminate(c);
  };
  try {
    await startBroker();
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  const stop = async () => {
    await stopBroker();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  return {
    ...endpoints,
    stopBroker,
    startBroker,
    get running() {
      return child !== undefined;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Jars, a temp dir with the KRaft config on free ports, the storage formatted. */
async function prepareBroker(): Promise<{ classpath: string; endpoints: KafkaEndpoints }> {
  const classpath = await ensureKafkaJars();
  await ensureCertificate();
  const dir = await Deno.makeTempDir({ prefix: "telemetry-kafka-" });
  const [plain, sasl, ssl, controller] = await freePorts(4);
  await Deno.writeTextFile(
    `${dir}/server.properties`,
    serverProperties(dir, plain, sasl, ssl, controller),
  );
  await Deno.writeTextFile(`${dir}/log4j.properties`, LOG4J);
  await formatStorage(classpath, dir);
  const endpoints: KafkaEndpoints = {
    bootstrap: `127.0.0.1:${plain}`,
    saslBootstrap: `127.0.0.1:${sasl}`,
    sslBootstrap: `127.0.0.1:${ssl}`,
    caFile: `${TLS_DIR}/ca.pem`,
    dir,
  };
  return { classpath, endpoints };
}

/** Run the broker JVM; resolves once it logged that it started (rejects if it exits first). */
async function launch(
  classpath: string,
  dir: string,
  detached: boolean,
): Promise<Deno.ChildProcess> {
  const java = [
    "java",
    "-Xms256m",
    "-Xmx768m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    `-Dlog4j.configuration=file:${dir}/log4j.properties`,
    "-cp",
    classpath,
    "kafka.Kafka",
    `${dir}/server.properties`,
  ].map(shellQuote).join(" ");
  // The JVM writes its log straight to a file, so it outlives this process when detached.
  const child = new Deno.Command("sh", {
    args: ["-c", `exec ${java} >> ${shellQuote(`${dir}/broker.log`)} 2>&1`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached,
  }).spawn();
  const started = await waitForLog(`${dir}/broker.log`, "Kafka Server started", child);
  if (!started) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already exited: the log says why
    }
    await child.status;
    const tail = (await Deno.readTextFile(`${dir}/broker.log`).catch(() => "")).slice(-4000);
    throw new Error(`Kafka broker did not start within ${READY_TIMEOUT_MS} ms\n${tail}`);
  }
  return child;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=,+@%-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

async function waitForLog(
  path: string,
  needle: string,
  child: Deno.ChildProcess,
): Promise<boolean> {
  let exited = false;
  child.status.then(() => (exited = true));
  const t0 = performance.now();
  const from = (await Deno.readTextFile(path).catch(() => "")).length;
  while (performance.now() - t0 < READY_TIMEOUT_MS && !exited) {
    const text = await Deno.readTextFile(path).catch(() => "");
    if (text.indexOf(needle, from) >= 0) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** SIGTERM (a clean broker shutdown), SIGKILL after 20 s. */
async function terminate(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    return; // already exited
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited meanwhile
    }
  }, 20_000);
  await child.status;
  clearTimeout(timer);
}

async function formatStorage(classpath: string, dir: string): Promise<void> {
  const scram = Object.entries(KAFKA_USERS).flatMap(([user, password]) =>
    ["SCRAM-SHA-256", "SCRAM-SHA-512"].flatMap((m) => [
      "--add-scram",
      `${m}=[name=${user},password=${password}]`,
    ])
  );
  await run("java", [
    `-Dlog4j.configuration=file:${dir}/log4j.properties`,
    "-cp",
    classpath,
    "kafka.tools.StorageTool",
    "format",
    "--ignore-formatted",
    "-t",
    "telemetry-test-cluster1",
    "-c",
    `${dir}/server.properties`,
    ...scram,
  ], { what: "formatting the Kafka storage (kafka.tools.StorageTool)" });
}

async function ensureCertificate(): Promise<void> {
  if (await exists(`${TLS_DIR}/ca.pem`)) return;
  const dir = await Deno.makeTempDir({ dir: `${ROOT}/.cache/kafka` }).catch(async () => {
    await Deno.mkdir(`${ROOT}/.cache/kafka`, { recursive: true });
    return await Deno.makeTempDir({ dir: `${ROOT}/.cache/kafka` });
  });
  await run("keytool", [
    "-genkeypair",
    "-alias",
    "broker",
    "-keyalg",
    "RSA",
    "-keysize",
    "2048",
    "-dname",
    "CN=localhost",
    "-ext",
    "SAN=ip:127.0.0.1,dns:localhost",
    "-validity",
    "3650",
    "-keystore",
    `${dir}/broker.p12`,
    "-storetype",
    "PKCS12",
    "-storepass",
    "broker-pass",
  ], { what: "making the broker's TLS certificate (keytool)" });
  const out = await run("keytool", [
    "-exportcert",
    "-rfc",
    "-alias",
    "broker",
    "-keystore",
    `${dir}/broker.p12`,
    "-storepass",
    "broker-pass",
  ], { what: "exporting the broker's certificate" });
  await Deno.writeTextFile(`${dir}/ca.pem`, out);
  // Publish both files at once; a concurrent maker loses the rename and keeps the winner's.
  await Deno.rename(dir, TLS_DIR).catch(async (e) => {
    await Deno.remove(dir, { recursive: true });
    if (!(await exists(`${TLS_DIR}/ca.pem`))) throw e;
  });
}

function serverProperties(dir: string, plain: number, sasl: number, ssl: number, ctl: number) {
  const users = Object.entries(KAFKA_USERS).map(([u, p]) => `user_${u}="${p}"`).join(" ");
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${ctl}
listeners=PLAINTEXT://127.0.0.1:${plain},SASL_PLAINTEXT://127.0.0.1:${sasl},SSL://127.0.0.1:${ssl},CONTROLLER://127.0.0.1:${ctl}
advertised.listeners=PLAINTEXT://127.0.0.1:${plain},SASL_PLAINTEXT://127.0.0.1:${sasl},SSL://127.0.0.1:${ssl}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,CONTROLLER:PLAINTEXT
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${users};
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.location=${TLS_DIR}/broker.p12
ssl.keystore.type=PKCS12
ssl.keystore.password=broker-pass
ssl.key.password=broker-pass
log.dirs=${dir}/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
connection.failed.authentication.delay.ms=0
`;
}

const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.log=WARN
log4j.logger.org.apache.kafka.storage=WARN
`;

function pom(): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.telemetry</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${SCALA}</artifactId>
      <version>${KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
`;
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

/** `start`: a detached broker whose pid and addresses go to .cache/kafka/by-hand.json. */
function startByHand(): Promise<void> {
  return startRecorded(STATE_FILE, "Kafka", async () => {
    const { classpath, endpoints } = await prepareBroker();
    const child = await launch(classpath, endpoints.dir, true);
    return { child, state: { pid: child.pid, ...endpoints, users: KAFKA_USERS } };
  });
}

if (import.meta.main) {
  const cmd = Deno.args[0];
  if (cmd === "start") await startByHand();
  else if (cmd === "stop") await stopRecorded(STATE_FILE, "Kafka", 20_000);
  else if (cmd === "status") {
    console.log(
      await exists(STATE_FILE) ? await Deno.readTextFile(STATE_FILE) : "Kafka is not running",
    );
  } else if (cmd === "fetch") console.log(await ensureKafkaJars());
  else {
    console.error("usage: deno run -A scripts/services/kafka.ts start|stop|status|fetch");
    Deno.exit(2);
  }
}
