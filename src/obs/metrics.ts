/**
 * A small Prometheus registry: counters, gauges and histograms with bounded label sets, rendered
 * in the text exposition format. Each thread keeps its own registry; the main thread's HTTP
 * endpoint concatenates the worker's rendered text with its own (families never overlap).
 * Every metric family the agent exposes is declared in `catalog.ts`.
 * @module
 */

export type Labels = Record<string, string>;

interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  render(out: string[]): void;
}

/** Rendered label sets by their raw insertion-order spelling; bounded like the label values. */
const keyCache = new Map<string, string>();
const KEY_CACHE_MAX = 10_000;

/** `{a="x",b="y"}` with sorted names; cached, since hot paths pass the same sets over and over. */
function labelKey(labels?: Labels): string {
  if (!labels) return "";
  let raw = "";
  for (const k in labels) raw += k + "\u0000" + labels[k] + "\u0001";
  if (raw === "") return "";
  let key = keyCache.get(raw);
  if (key === undefined) {
    const keys = Object.keys(labels).sort();
    key = "{" + keys.map((k) => `${k}="${escape(labels[k])}"`).join(",") + "}";
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.clear();
    keyCache.set(raw, key);
  }
  return key;
}

function escape(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function fmt(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** A monotonically increasing count per label set. */
export class Counter implements Family {
  readonly type = "counter";
  readonly #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string, unlabeled = false) {
    if (unlabeled) this.#values.set("", 0);
  }
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }
  /** A handle for one label set whose key is computed once (for hot paths). */
  child(labels?: Labels): { inc(by?: number): void } {
    const k = labelKey(labels);
    if (!this.#values.has(k)) this.#values.set(k, 0);
    const values = this.#values;
    return { inc: (by = 1) => void values.set(k, values.get(k)! + by) };
  }
  get(labels?: Labels): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }
  /** Sum over every label set. */
  total(): number {
    let t = 0;
    for (const v of this.#values.values()) t += v;
    return t;
  }
  render(out: string[]): void {
    for (const [k, v] of this.#values) out.push(`${this.name}${k} ${fmt(v)}`);
  }
}

/** A value that goes up and down, set directly or read from a callback at render time. */
export class Gauge implements Family {
  readonly type = "gauge";
  readonly #values = new Map<string, number>();
  readonly #probes: [string, () => number][] = [];
  constructor(readonly name: string, readonly help: string) {}
  set(value: number, labels?: Labels): void {
    this.#values.set(labelKey(labels), value);
  }
  /** Read `fn` whenever the gauge is rendered. */
  probe(fn: () => number, labels?: Labels): void {
    this.#probes.push([labelKey(labels), fn]);
  }
  render(out: string[]): void {
    for (const [k, v] of this.#values) out.push(`${this.name}${k} ${fmt(v)}`);
    for (const [k, fn] of this.#probes) out.push(`${this.name}${k} ${fmt(fn())}`);
  }
}

/** Cumulative histogram with fixed upper bounds (base units: seconds or bytes). */
export class Histogram implements Family {
  readonly type = "histogram";
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;
  constructor(readonly name: string, readonly help: string, readonly bounds: readonly number[]) {
    this.#counts = new Float64Array(bounds.length);
  }
  observe(v: number, times = 1): void {
    this.#sum += v * times;
    this.#count += times;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]) {
        this.#counts[i] += times;
        return;
      }
    }
  }
  get count(): number {
    return this.#count;
  }
  render(out: string[]): void {
    let cum = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cum += this.#counts[i];
      out.push(`${this.name}_bucket{le="${fmt(this.bounds[i])}"} ${cum}`);
    }
    out.push(`${this.name}_bucket{le="+Inf"} ${this.#count}`);
    out.push(`${this.name}_sum ${fmt(this.#sum)}`);
    out.push(`${this.name}_count ${this.#count}`);
  }
}

/** A set of families rendered together. */
export class Registry {
  readonly #families: Family[] = [];
  /** A counter; `unlabeled` ones are shown as 0 before their first increment. */
  counter(name: string, help: string, unlabeled = false): Counter {
    return this.#add(new Counter(name, help, unlabeled));
  }
  gauge(name: string, help: string): Gauge {
    return this.#add(new Gauge(name, help));
  }
  histogram(name: string, help: string, bounds: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, bounds));
  }
  #add<T extends Family>(f: T): T {
    this.#families.push(f);
    return f;
  }
  /** Prometheus text exposition (version 0.0.4). */
  render(): string {
    const out: string[] = [];
    for (const f of this.#families) {
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
      f.render(out);
    }
    return out.join("\n") + "\n";
  }
}
