/**
 * A bounded cache with least-recently-used-like eviction in O(1): two generations of maps; a hit
 * in the old one moves the entry to the young one, and when the young one fills up it becomes the
 * old one and the previous old one is dropped. Holds at most `capacity` entries. Counts hits,
 * misses and evicted entries for the `telemetry_enrich_cache_*` metrics. Pipeline worker.
 * @module
 */

export class BoundedCache<K, V> {
  readonly capacity: number;
  hits = 0;
  misses = 0;
  evictions = 0;
  #young = new Map<K, V>();
  #old = new Map<K, V>();
  readonly #half: number;

  /** `capacity` 0 turns the cache off (every get misses, set keeps nothing). */
  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.#half = Math.max(1, Math.ceil(this.capacity / 2));
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  get(key: K): V | undefined {
    let v = this.#young.get(key);
    if (v !== undefined) {
      this.hits++;
      return v;
    }
    v = this.#old.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.#old.delete(key);
    this.#put(key, v);
    return v;
  }

  set(key: K, value: V): void {
    if (this.capacity === 0) return;
    this.#put(key, value);
  }

  clear(): void {
    this.#young = new Map();
    this.#old = new Map();
  }

  #put(key: K, value: V): void {
    if (this.#young.size >= this.#half) {
      this.evictions += this.#old.size;
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}
