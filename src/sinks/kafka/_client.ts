/**
 * Turns parsed Kafka sink options into kafkajs settings: client (brokers, client id, timeouts,
 * SASL, TLS with PEM files read here, logs routed to the agent's log at debug level), producer
 * (idempotence, partitioner, auto-create, one kafkajs retry) and per-send options (acks,
 * compression, timeout).
 * Pipeline worker (at open). Reads TLS files; never connects.
 * @module
 */

import type * as kafkajs from "kafkajs";
import type { SinkDeps } from "../contract.ts";
import { SinkError } from "../contract.ts";
import type { KafkaSinkOptions } from "./options.ts";

/** The parts of the kafkajs module the sink uses. */
export type KafkaJs = Pick<
  typeof kafkajs,
  "Kafka" | "CompressionTypes" | "CompressionCodecs" | "Partitioners" | "logLevel"
>;

/**
 * kafkajs retries at most this often inside one write (leader moves, a metadata refresh); the
 * runner owns every longer wait. The idempotent producer refuses 0.
 */
const KAFKAJS_RETRIES = 1;

/** Client settings; throws `SinkError` (`sink_config`) when a TLS file cannot be read. */
export async function kafkaClientConfig(
  kjs: KafkaJs,
  sink: string,
  o: KafkaSinkOptions,
  deps: SinkDeps,
): Promise<kafkajs.KafkaConfig> {
  const config: kafkajs.KafkaConfig = {
    brokers: o.brokers,
    clientId: o.clientId,
    connectionTimeout: o.connectTimeoutMs,
    authenticationTimeout: o.connectTimeoutMs,
    requestTimeout: o.requestTimeoutMs,
    retry: { retries: KAFKAJS_RETRIES, initialRetryTime: 100, maxRetryTime: 1000 },
    logLevel: kjs.logLevel.WARN,
    logCreator: () => ({ namespace, log }) => {
      deps.log("debug", `kafkajs: ${log.message}`, { sink, namespace, error: log.error });
    },
  };
  if (o.tls !== undefined) config.ssl = await tlsOptions(sink, o.tls);
  if (o.sasl !== undefined) {
    config.sasl = {
      mechanism: o.sasl.mechanism,
      username: o.sasl.username,
      password: o.sasl.password,
    } as kafkajs.SASLOptions;
  }
  return config;
}

/** Producer settings. */
export function producerConfig(kjs: KafkaJs, o: KafkaSinkOptions): kafkajs.ProducerConfig {
  return {
    idempotent: o.idempotent,
    // Idempotence keeps sequence numbers per partition; one request at a time keeps them in order.
    maxInFlightRequests: o.idempotent ? 1 : undefined,
    allowAutoTopicCreation: o.autoCreateTopic,
    createPartitioner: o.partitioner === "legacy"
      ? kjs.Partitioners.LegacyPartitioner
      : kjs.Partitioners.DefaultPartitioner,
    retry: { retries: KAFKAJS_RETRIES, initialRetryTime: 100, maxRetryTime: 1000 },
  };
}

/** Options of every `sendBatch`. */
export function sendOptions(
  kjs: KafkaJs,
  o: KafkaSinkOptions,
): { acks: number; compression: kafkajs.CompressionTypes; timeout: number } {
  const acks = { all: -1, leader: 1, none: 0 }[o.acks];
  const t = kjs.CompressionTypes;
  const compression = {
    none: t.None,
    gzip: t.GZIP,
    snappy: t.Snappy,
    lz4: t.LZ4,
    zstd: t.ZSTD,
  }[o.compression];
  return { acks, compression, timeout: o.requestTimeoutMs };
}

async function tlsOptions(
  sink: string,
  t: NonNullable<KafkaSinkOptions["tls"]>,
): Promise<kafkajs.KafkaConfig["ssl"]> {
  const read = async (key: string, path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return await Deno.readTextFile(path);
    } catch (err) {
      throw new SinkError(
        `kafka sink ${sink}: cannot read tls.${key} ${path}: ${(err as Error).message}`,
        { code: "sink_config", retryable: false, cause: err },
      );
    }
  };
  const ca = await read("ca-file", t.caFile);
  const cert = await read("cert-file", t.certFile);
  const key = await read("key-file", t.keyFile);
  return {
    rejectUnauthorized: t.verify,
    ...(ca === undefined ? {} : { ca: [ca] }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(t.serverName === undefined ? {} : { servername: t.serverName }),
  };
}
