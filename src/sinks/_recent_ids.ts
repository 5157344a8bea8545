/**
 * A bounded set of recently written batch ids, so a retried batch is not written twice.
 * Any thread. Oldest ids are forgotten first once `limit` is reached.
 * @module
 */

/** Insertion-ordered, bounded id set. */
export class RecentIds {
  #ids = new Set<string>();
  #limit: number;

  constructor(limit = 1024) {
    this.#limit = limit;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  add(id: string): void {
    this.#ids.add(id);
    if (this.#ids.size > this.#limit) {
      const oldest = this.#ids.values().next().value;
      if (oldest !== undefined) this.#ids.delete(oldest);
    }
  }
}
