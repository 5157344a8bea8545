/**
 * Reads a sink's options (kebab-case keys as written in KDL) into typed values, collecting every
 * problem, then refuses unknown keys and reports all problems at once as one `sink_config` error.
 * Pipeline worker (at start-up). Pure: reads no environment, no files.
 * @module
 */

import { SinkError } from "./contract.ts";

/** Shared sink keys a loader may leave in `options`; the runner reads them from `SinkConfig`. */
const SHARED_KEYS = ["batch-size", "flush-interval-ms"];

/**
 * Typed, checked access to one sink's options.
 *
 * @example
 * ```ts
 * const r = new OptionReader("http sink", cfg.options);
 * const url = r.string("url", { required: true });
 * const timeoutMs = r.int("timeout-ms", 10_000, { min: 1 });
 * r.finish(); // throws SinkError(sink_config) listing every problem
 * ```
 */
export class OptionReader {
  readonly #what: string;
  readonly #options: Record<string, unknown>;
  readonly #known = new Set<string>(SHARED_KEYS);
  readonly #problems: string[] = [];

  constructor(what: string, options: Record<string, unknown>) {
    this.#what = what;
    this.#options = options;
  }

  /** Whether the key is set (and marks it known). */
  has(key: string): boolean {
    this.#known.add(key);
    return Object.hasOwn(this.#options, key);
  }

  /** A string option; `undefined` when absent and not required. */
  string(key: string, opts: { required: true; rule?: StringRule }): string;
  string(key: string, opts?: { required?: false; rule?: StringRule }): string | undefined;
  string(key: string, opts: { required?: boolean; rule?: StringRule } = {}): string | undefined {
    if (!this.has(key)) {
      if (opts.required) this.problem(`\`${key}\` is required`);
      return opts.required ? "" : undefined;
    }
    const v = this.#options[key];
    if (typeof v !== "string" || v.length === 0) {
      this.problem(`\`${key}\` must be a non-empty string, got ${show(v)}`);
      return opts.required ? "" : undefined;
    }
    const why = opts.rule?.(v);
    if (why) this.problem(`\`${key}\` ${why}, got ${show(v)}`);
    return v;
  }

  /** One of `choices`; the first is the default. */
  choice<T extends string>(key: string, choices: readonly T[]): T {
    if (!this.has(key)) return choices[0];
    const v = this.#options[key];
    if (typeof v === "string" && (choices as readonly string[]).includes(v)) return v as T;
    this.problem(
      `\`${key}\` must be one of ${choices.map((c) => `"${c}"`).join(", ")}, got ${show(v)}`,
    );
    return choices[0];
  }

  /** An integer in `[min, max]`. */
  int(key: string, fallback: number, range: { min: number; max?: number }): number {
    if (!this.has(key)) return fallback;
    const v = this.#options[key];
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= range.min && v <= max) return v;
    const rule = range.max === undefined
      ? `an integer >= ${range.min}`
      : `an integer between ${range.min} and ${range.max}`;
    this.problem(`\`${key}\` must be ${rule}, got ${show(v)}`);
    return fallback;
  }

  /** A boolean (a bare key in KDL is `true`). */
  bool(key: string, fallback: boolean): boolean {
    if (!this.has(key)) return fallback;
    const v = this.#options[key];
    if (typeof v === "boolean") return v;
    this.problem(`\`${key}\` must be true or false, got ${show(v)}`);
    return fallback;
  }

  /** A block of `name "value"` pairs (e.g. `headers { x-team "edge" }`). */
  stringMap(key: string): Record<string, string> {
    if (!this.has(key)) return {};
    const v = this.#options[key];
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      this.problem(`\`${key}\` must be a block of name "value" pairs, got ${show(v)}`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [name, value] of Object.entries(v)) {
      if (typeof value === "string") out[name] = value;
      else this.problem(`\`${key}.${name}\` must be a string, got ${show(value)}`);
    }
    return out;
  }

  /** Record a problem found by the caller (e.g. a cross-key rule). */
  problem(text: string): void {
    this.#problems.push(text);
  }

  /** Refuse unknown keys; throw every problem at once. */
  finish(): void {
    for (const key of Object.keys(this.#options)) {
      if (!this.#known.has(key)) {
        const known = [...this.#known].filter((k) => !SHARED_KEYS.includes(k)).join(", ");
        this.#problems.push(`unknown option \`${key}\`; known options: ${known}`);
      }
    }
    if (this.#problems.length > 0) {
      throw new SinkError(`${this.#what}: ${this.#problems.join("; ")}`, {
        code: "sink_config",
        retryable: false,
      });
    }
  }
}

/** Returns why a string is not acceptable, or `undefined` when it is. */
export type StringRule = (value: string) => string | undefined;

/** A rule accepting an absolute `http:` or `https:` URL. */
export const httpUrl: StringRule = (v) => {
  try {
    const u = new URL(v);
    return u.protocol === "http:" || u.protocol === "https:"
      ? undefined
      : "must be an http:// or https:// URL";
  } catch {
    return 'must be an absolute URL such as "https://collector.example.com/ingest"';
  }
};

/** A rule accepting an environment variable name. */
export const envName: StringRule = (v) =>
  /^[A-Za-z_][A-Za-z0-9_]*$/.test(v) ? undefined : "must be an environment variable name";

function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  return String(v);
}
