/**
 * Classifies kafkajs errors for the runner. Fatal (`retryable: false`): rejected credentials,
 * a missing topic (auto-create off), authorization, a record or batch Kafka refuses, an
 * unsupported codec. Everything else — broker down, connection reset, timeouts, leader
 * elections — is retryable (`sink_unavailable`), and the runner's backoff and breaker take over.
 * Pipeline worker. Pure; never logs.
 * @module
 */

import { SinkError, type SinkErrorCode } from "../contract.ts";

/** The fields of a kafkajs error this module reads (kafkajs errors are plain JS classes). */
interface KafkaJsErrorLike {
  name?: string;
  message?: string;
  type?: string;
  retriable?: boolean;
  cause?: unknown;
  originalError?: unknown;
  errors?: unknown[];
}

/** What the sink knows about itself, for messages that say what to change. */
export interface ErrorContext {
  sink: string;
  topics: string;
  autoCreateTopic: boolean;
  saslUser?: string;
  saslMechanism?: string;
}

const REJECTED_TYPES = new Set([
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "CORRUPT_MESSAGE",
  "INVALID_TOPIC_EXCEPTION",
  "INVALID_REQUIRED_ACKS",
  "UNSUPPORTED_COMPRESSION_TYPE",
  "UNSUPPORTED_FOR_MESSAGE_FORMAT",
  "POLICY_VIOLATION",
]);
const AUTHZ_TYPES = new Set([
  "TOPIC_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
]);
const SASL_TYPES = new Set([
  "SASL_AUTHENTICATION_FAILED",
  "ILLEGAL_SASL_STATE",
  "UNSUPPORTED_SASL_MECHANISM",
]);

/**
 * Wrap a kafkajs failure as a `SinkError` whose message says what happened and what to change.
 *
 * @example
 * ```ts
 * throw classifyKafkaError(err, { sink: "kafka", topics: "t", autoCreateTopic: false });
 * ```
 */
export function classifyKafkaError(err: unknown, ctx: ErrorContext): SinkError {
  const chain = causes(err);
  const text = chain.map((e) => e.message).filter(Boolean).at(-1) ?? String(err);
  const fatal = (code: SinkErrorCode, message: string) =>
    new SinkError(`kafka sink ${ctx.sink}: ${message}`, { code, retryable: false, cause: err });
  if (chain.some((e) => e.name === "KafkaJSSASLAuthenticationError" || SASL_TYPES.has(e.type!))) {
    const who = ctx.saslUser === undefined
      ? "no SASL credentials are configured"
      : `user "${ctx.saslUser}" with ${ctx.saslMechanism}`;
    return fatal(
      "sink_backend_rejected",
      `authentication failed (${who}): ${text}; check sasl username, password or password-env and mechanism`,
    );
  }
  if (chain.some((e) => e.type === "UNKNOWN_TOPIC_OR_PARTITION") && !ctx.autoCreateTopic) {
    return fatal(
      "sink_backend_rejected",
      `topic ${ctx.topics} does not exist and auto-create-topic is false; create the topic or set auto-create-topic true`,
    );
  }
  if (chain.some((e) => AUTHZ_TYPES.has(e.type!))) {
    return fatal("sink_backend_rejected", `not authorized: ${text}; grant the user write access`);
  }
  const rejected = chain.find((e) => REJECTED_TYPES.has(e.type!));
  if (rejected !== undefined) {
    return fatal("sink_backend_rejected", `Kafka refused the batch (${rejected.type}): ${text}`);
  }
  if (chain.some((e) => e.name === "KafkaJSNotImplemented")) {
    return fatal("sink_config", `${text}; choose another compression`);
  }
  return new SinkError(`kafka sink ${ctx.sink}: ${text}`, {
    code: "sink_unavailable",
    retryable: true,
    cause: err,
  });
}

/** The error and what it wraps (kafkajs nests through `cause`, `originalError`, `errors`). */
function causes(err: unknown): KafkaJsErrorLike[] {
  const out: KafkaJsErrorLike[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && out.length < 20) {
    const e = queue.shift();
    if (typeof e !== "object" || e === null || out.includes(e as KafkaJsErrorLike)) continue;
    const k = e as KafkaJsErrorLike;
    out.push(k);
    queue.push(k.cause, k.originalError, ...(Array.isArray(k.errors) ? k.errors : []));
  }
  return out;
}
