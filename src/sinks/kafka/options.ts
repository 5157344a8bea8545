/**
 * The Kafka sink's options: kebab-case keys as written in KDL, their defaults and checks.
 * Pipeline worker (at start-up). Pure except for reading the SASL password from the environment
 * when `password-env` names a variable. Throws `SinkError` (`sink_config`) naming the sink and
 * every bad key at once (the config file position is not known here).
 * @module
 */

import { SinkError } from "../contract.ts";
import { parseTopicTemplate, type TopicTemplate } from "./messages.ts";

export type KafkaCompression = "none" | "gzip" | "snappy" | "lz4" | "zstd";
export type KafkaAcks = "all" | "leader" | "none";
export type KafkaPartitioner = "murmur2" | "legacy";
export type SaslMechanism = "plain" | "scram-sha-256" | "scram-sha-512";

export interface KafkaSasl {
  mechanism: SaslMechanism;
  username: string;
  password: string;
  /** The variable the password came from, for messages (never the password). */
  passwordEnv?: string;
}

export interface KafkaTls {
  /** PEM file(s) of the CAs to trust instead of the system's. */
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** SNI and certificate name check; default: the broker's host. */
  serverName?: string;
  /** Check the broker's certificate. @default true */
  verify: boolean;
}

/** The parsed options of one Kafka sink. */
export interface KafkaSinkOptions {
  brokers: string[];
  topic: TopicTemplate;
  /** Dotted record field whose value is the message key; `null`: no key. */
  keyField: string | null;
  compression: KafkaCompression;
  acks: KafkaAcks;
  idempotent: boolean;
  clientId: string;
  partitioner: KafkaPartitioner;
  autoCreateTopic: boolean;
  sasl?: KafkaSasl;
  tls?: KafkaTls;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/** Defaults of the optional keys. */
export const KAFKA_SINK_DEFAULTS = Object.freeze({
  keyField: "event_id",
  compression: "none" as KafkaCompression,
  acks: "all" as KafkaAcks,
  idempotent: true,
  clientId: "telemetry-agent",
  partitioner: "murmur2" as KafkaPartitioner,
  autoCreateTopic: false,
  connectTimeoutMs: 3000,
  requestTimeoutMs: 30_000,
});

const KEYS = [
  "brokers",
  "topic",
  "key-field",
  "compression",
  "acks",
  "idempotent",
  "client-id",
  "partitioner",
  "auto-create-topic",
  "sasl",
  "tls",
  "connect-timeout-ms",
  "request-timeout-ms",
];
/** Shared keys the runner reads from `SinkConfig`, not from here. */
const SHARED_KEYS = new Set(["batch-size", "flush-interval-ms"]);
const SASL_KEYS = ["mechanism", "username", "password", "password-env"];
const TLS_KEYS = ["ca-file", "cert-file", "key-file", "server-name", "verify"];
const FIELD_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,5}$/;
const BROKER_RE = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):([0-9]{1,5})$/;

/** Collects problems while reading one block of options. */
class Reader {
  constructor(
    readonly o: Record<string, unknown>,
    readonly problems: string[],
    readonly prefix = "",
  ) {}

  fail(key: string, rule: string): undefined {
    this.problems.push(`\`${this.prefix}${key}\` must be ${rule}, got ${show(this.o[key])}`);
    return undefined;
  }

  str(key: string): string | undefined {
    const v = this.o[key];
    if (v === undefined) return undefined;
    return typeof v === "string" && v !== "" ? v : this.fail(key, "a non-empty string");
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.o[key] ?? fallback;
    return typeof v === "boolean" ? v : (this.fail(key, "true or false"), fallback);
  }

  int(key: string, fallback: number, min: number, max: number): number {
    const v = this.o[key] ?? fallback;
    if (typeof v === "number" && Number.isInteger(v) && v >= min && v <= max) return v;
    return this.fail(key, `an integer from ${min} to ${max}`) ?? fallback;
  }

  oneOf<T extends string>(key: string, values: readonly T[], fallback: T): T {
    const v = this.o[key] ?? fallback;
    if (typeof v === "string" && (values as readonly string[]).includes(v)) return v as T;
    return this.fail(key, `one of ${values.map((x) => `"${x}"`).join(", ")}`) ?? fallback;
  }

  unknown(known: readonly string[], skip: ReadonlySet<string> = new Set()): void {
    for (const key of Object.keys(this.o)) {
      if (known.includes(key) || skip.has(key)) continue;
      this.problems.push(
        `unknown option \`${this.prefix}${key}\`; known options: ${known.join(", ")}`,
      );
    }
  }
}

/**
 * Parse one Kafka sink's options. `env` reads a variable named by `sasl.password-env`.
 *
 * @example
 * ```ts
 * parseKafkaSinkOptions("kafka", { brokers: ["kafka:9092"], topic: "sentinel-telemetry" });
 * ```
 */
export function parseKafkaSinkOptions(
  sink: string,
  options: Record<string, unknown>,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): KafkaSinkOptions {
  const problems: string[] = [];
  const r = new Reader(options, problems);
  r.unknown(KEYS, SHARED_KEYS);
  const d = KAFKA_SINK_DEFAULTS;
  const parsed: KafkaSinkOptions = {
    brokers: brokers(r),
    topic: topic(r),
    keyField: keyField(r),
    compression: r.oneOf("compression", ["none", "gzip", "snappy", "lz4", "zstd"], d.compression),
    acks: r.oneOf("acks", ["all", "leader", "none"], d.acks),
    idempotent: r.bool("idempotent", d.idempotent),
    clientId: r.str("client-id") ?? d.clientId,
    partitioner: r.oneOf("partitioner", ["murmur2", "legacy"], d.partitioner),
    autoCreateTopic: r.bool("auto-create-topic", d.autoCreateTopic),
    sasl: sasl(r, env),
    tls: tls(r),
    connectTimeoutMs: r.int("connect-timeout-ms", d.connectTimeoutMs, 100, 600_000),
    requestTimeoutMs: r.int("request-timeout-ms", d.requestTimeoutMs, 100, 600_000),
  };
  if (parsed.idempotent && parsed.acks !== "all") {
    problems.push(
      `\`idempotent true\` needs \`acks "all"\`, got acks "${parsed.acks}"; set acks "all" or idempotent false`,
    );
  }
  if (problems.length > 0) {
    throw new SinkError(`kafka sink ${sink}: ${problems.join("; ")}`, {
      code: "sink_config",
      retryable: false,
    });
  }
  return parsed;
}

function brokers(r: Reader): string[] {
  const v = r.o.brokers;
  const list = typeof v === "string" ? [v] : v;
  const rule = 'a list of "host:port" strings, e.g. brokers ["kafka:9092"]';
  if (!Array.isArray(list) || list.length === 0) return r.fail("brokers", rule) ?? [];
  const bad = list.find((b) => typeof b !== "string" || !validBroker(b));
  return bad === undefined ? list as string[] : r.fail("brokers", rule) ?? [];
}

function validBroker(b: string): boolean {
  const m = BROKER_RE.exec(b);
  return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= 65535;
}

function topic(r: Reader): TopicTemplate {
  const raw = r.str("topic");
  if (raw === undefined) {
    if (r.o.topic === undefined) r.fail("topic", 'set, e.g. topic "sentinel-telemetry"');
    return parseTopicTemplate("invalid");
  }
  try {
    return parseTopicTemplate(raw);
  } catch (e) {
    r.problems.push(`\`topic\` ${e instanceof Error ? e.message : String(e)}`);
    return parseTopicTemplate("invalid");
  }
}

function keyField(r: Reader): string | null {
  const v = r.o["key-field"];
  if (v === undefined) return KAFKA_SINK_DEFAULTS.keyField;
  if (v === "none" || v === false) return null;
  if (typeof v === "string" && FIELD_RE.test(v)) return v;
  return r.fail("key-field", 'a dotted record field like "request.correlation_id", or "none"') ??
    null;
}

function sasl(r: Reader, env: (name: string) => string | undefined): KafkaSasl | undefined {
  const v = r.o.sasl;
  if (v === undefined) return undefined;
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return r.fail("sasl", 'a block: sasl { mechanism "scram-sha-256"; username "…"; … }');
  }
  const s = new Reader(v as Record<string, unknown>, r.problems, "sasl.");
  s.unknown(SASL_KEYS);
  const mechanism = s.oneOf("mechanism", ["plain", "scram-sha-256", "scram-sha-512"], "plain");
  const username = s.str("username") ?? s.fail("username", "set");
  const passwordEnv = s.str("password-env");
  let password = s.str("password");
  if ((password === undefined) === (passwordEnv === undefined)) {
    r.problems.push("`sasl` needs exactly one of `password` or `password-env`");
  } else if (passwordEnv !== undefined) {
    password = readEnv(env, passwordEnv, r.problems);
  }
  if (username === undefined || password === undefined) return undefined;
  return passwordEnv === undefined
    ? { mechanism, username, password }
    : { mechanism, username, password, passwordEnv };
}

function readEnv(
  env: (name: string) => string | undefined,
  name: string,
  problems: string[],
): string | undefined {
  let value: string | undefined;
  try {
    value = env(name);
  } catch (e) {
    problems.push(`\`sasl.password-env\`: cannot read ${name} (${(e as Error).message})`);
    return undefined;
  }
  if (value === undefined || value === "") {
    problems.push(`\`sasl.password-env\`: environment variable ${name} is not set or empty`);
    return undefined;
  }
  return value;
}

function tls(r: Reader): KafkaTls | undefined {
  const v = r.o.tls;
  if (v === undefined || v === false) return undefined;
  if (v === true) return { verify: true };
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return r.fail("tls", 'true, or a block: tls { ca-file "/etc/kafka/ca.pem"; }');
  }
  const t = new Reader(v as Record<string, unknown>, r.problems, "tls.");
  t.unknown(TLS_KEYS);
  const out: KafkaTls = { verify: t.bool("verify", true) };
  const set = (key: string, prop: "caFile" | "certFile" | "keyFile" | "serverName") => {
    const s = t.str(key);
    if (s !== undefined) out[prop] = s;
  };
  set("ca-file", "caFile");
  set("cert-file", "certFile");
  set("key-file", "keyFile");
  set("server-name", "serverName");
  if ((out.certFile === undefined) !== (out.keyFile === undefined)) {
    r.problems.push("`tls.cert-file` and `tls.key-file` go together; set both or neither");
  }
  return out;
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "object" && v !== null) return Array.isArray(v) ? "a list" : "a block";
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}
