/**
 * The Kafka sink: each batch is one kafkajs `sendBatch` of the records as JSON values, keyed by a
 * configured record field, with `schema-version`, `event-id` and `content-type` headers, to a
 * static or templated topic. Idempotent producer (acks all) by default; SASL PLAIN/SCRAM and TLS.
 * kafkajs retries once at most; backoff, the circuit breaker and drop accounting are the
 * runner's. Errors are classified by `errors.ts` (credentials, missing topic: fatal).
 * Pipeline worker. kafkajs and codec libraries are imported on `open()`, so an agent without a
 * Kafka sink never loads them. Never sleeps or retries on its own; never writes a batch id twice.
 * @module
 */

import process from "node:process";
import type { SinkConfig } from "../../config/types.ts";
import { type Sink, type SinkBatch, type SinkDeps, SinkError } from "../contract.ts";
import { RecentIds } from "../_recent_ids.ts";
import { loadCodec } from "./codecs.ts";
import { classifyKafkaError, type ErrorContext } from "./errors.ts";
import { encodeBatch } from "./messages.ts";
import { type KafkaSinkOptions, parseKafkaSinkOptions } from "./options.ts";
import { kafkaClientConfig, type KafkaJs, producerConfig, sendOptions } from "./_client.ts";
import type { Producer } from "kafkajs";

export { KAFKA_SINK_DEFAULTS, parseKafkaSinkOptions } from "./options.ts";
export type { KafkaSinkOptions } from "./options.ts";

/**
 * Create a Kafka sink from its config section (`cfg.options` is parsed here; a bad option
 * throws `SinkError` with code `sink_config` naming the key).
 *
 * @example
 * ```ts
 * const sink = createKafkaSink({ name: "kafka", type: "kafka", batchSize: 1000,
 *   flushIntervalMs: 1000, options: { brokers: ["kafka:9092"], topic: "telemetry" } }, { log });
 * await sink.open();
 * await sink.write({ id: batchId, records });
 * await sink.close();
 * ```
 */
export function createKafkaSink(cfg: SinkConfig, deps: SinkDeps): Sink {
  return new KafkaSink(cfg.name, parseKafkaSinkOptions(cfg.name, cfg.options), deps);
}

class KafkaSink implements Sink {
  readonly name: string;
  #o: KafkaSinkOptions;
  #deps: SinkDeps;
  #ctx: ErrorContext;
  #keyPath: string[] | null;
  #kjs: KafkaJs | undefined;
  #producer: Producer | undefined;
  #connected = false;
  #recent = new RecentIds(4096);
  #closed = false;

  constructor(name: string, o: KafkaSinkOptions, deps: SinkDeps) {
    this.name = name;
    this.#o = o;
    this.#deps = deps;
    this.#keyPath = o.keyField === null ? null : o.keyField.split(".");
    this.#ctx = {
      sink: name,
      topics: o.topic.source,
      autoCreateTopic: o.autoCreateTopic,
      saslUser: o.sasl?.username,
      saslMechanism: o.sasl?.mechanism,
    };
  }

  /**
   * Build the producer and try to connect. Fatal problems (credentials, a missing static topic,
   * unreadable TLS files) throw; an unreachable cluster is logged and left to the writes.
   */
  async open(): Promise<void> {
    routeNodeWarnings(this.#deps);
    const kjs = (await import("kafkajs")) as unknown as KafkaJs;
    this.#kjs = kjs;
    const codec = await loadCodec(this.#o.compression);
    if (codec !== undefined) {
      const codecs = kjs.CompressionCodecs as Record<number, () => unknown>;
      codecs[sendOptions(kjs, this.#o).compression] = () => codec;
    }
    const client = new kjs.Kafka(await kafkaClientConfig(kjs, this.name, this.#o, this.#deps));
    this.#producer = client.producer(producerConfig(kjs, this.#o));
    try {
      await this.#connect();
    } catch (err) {
      if (err instanceof SinkError && !err.retryable) throw err;
      this.#deps.log("warn", "kafka sink cannot reach the cluster yet; writes will retry", {
        sink: this.name,
        brokers: this.#o.brokers,
        error: err instanceof Error ? err.message : String(err),
      });
      return;
    }
    try {
      await this.#checkStaticTopic(client);
    } catch (err) {
      await this.close().catch(() => {}); // the open error below is what matters
      throw err;
    }
    this.#deps.log("info", "kafka sink connected", {
      sink: this.name,
      brokers: this.#o.brokers,
      topic: this.#o.topic.source,
      compression: this.#o.compression,
      idempotent: this.#o.idempotent,
    });
  }

  async write(batch: SinkBatch): Promise<number> {
    if (this.#closed || this.#producer === undefined || this.#kjs === undefined) {
      throw new SinkError(`kafka sink ${this.name} is not open`, {
        code: "sink_unavailable",
        retryable: false,
      });
    }
    if (this.#recent.has(batch.id)) return 0;
    const encoded = encodeBatch(batch, this.#o.topic, this.#keyPath);
    if (encoded.topicMessages.length === 0) return 0;
    if (!this.#connected) await this.#connect();
    try {
      await this.#producer.sendBatch({
        topicMessages: encoded.topicMessages,
        ...sendOptions(this.#kjs, this.#o),
      });
    } catch (err) {
      throw classifyKafkaError(err, this.#ctx);
    }
    this.#recent.add(batch.id);
    return encoded.bytes;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const producer = this.#producer;
    this.#producer = undefined;
    if (producer === undefined) return;
    try {
      await producer.disconnect();
    } catch (err) {
      throw classifyKafkaError(err, this.#ctx);
    }
  }

  async #connect(): Promise<void> {
    try {
      await this.#producer!.connect();
      this.#connected = true;
    } catch (err) {
      throw classifyKafkaError(err, this.#ctx);
    }
  }

  /** With auto-create off, a static topic that does not exist stops the sink at start. */
  async #checkStaticTopic(client: InstanceType<KafkaJs["Kafka"]>): Promise<void> {
    const parts = this.#o.topic.parts;
    if (this.#o.autoCreateTopic || parts.length !== 1) return;
    const admin = client.admin();
    try {
      await admin.connect();
      await admin.fetchTopicMetadata({ topics: [parts[0] as string] });
    } catch (err) {
      const e = classifyKafkaError(err, this.#ctx);
      if (!e.retryable) throw e;
      this.#deps.log("warn", "kafka sink could not check its topic; writes will tell", {
        sink: this.name,
        error: e.message,
      });
    } finally {
      await admin.disconnect().catch((err: unknown) => {
        this.#deps.log("debug", "kafka admin disconnect failed", {
          sink: this.name,
          error: String(err),
        });
      });
    }
  }
}

let warningsRouted = false;

/**
 * kafkajs arms a negative timer on every new connection, and the Node compatibility layer prints
 * a `TimeoutNegativeWarning` line to stderr for it, which would break the agent's one-JSON-object
 * per line log. Node process warnings in this worker go to the structured log instead (that one
 * at debug level, any other at warn).
 */
function routeNodeWarnings(deps: SinkDeps): void {
  if (warningsRouted) return;
  warningsRouted = true;
  process.removeAllListeners("warning");
  process.on("warning", (w: Error) => {
    const level = w.name === "TimeoutNegativeWarning" ? "debug" : "warn";
    deps.log(level, "node warning", { name: w.name, warning: w.message });
  });
}
