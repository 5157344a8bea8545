/**
 * Turns the hand-off queue's fill (each batch says how many events were queued behind it and the
 * queue's capacity) into a shedding factor in [floor, 1] that the sampler multiplies its rates
 * (or its key budget) by: 1 while the fill is under `shed-at`, then falling linearly to `floor`
 * at a full queue. The fill is smoothed (up at once, down by a tenth per batch) and forgotten
 * after a second without batches. Pure apart from the clock it is given; pipeline worker.
 * @module
 */

/** How long a load reading stays valid without a new batch. */
export const LOAD_STALE_MS = 1000;

export class OverloadGauge {
  #shedAt: number;
  #floor: number;
  #level = 0;
  #at = -Infinity;

  constructor(shedAt: number, floor: number) {
    this.#shedAt = shedAt;
    this.#floor = floor;
  }

  /** New thresholds (config reload). */
  configure(shedAt: number, floor: number): void {
    this.#shedAt = shedAt;
    this.#floor = floor;
  }

  /** One batch's reading: `queued` events waiting out of `capacity`. */
  observe(queued: number, capacity: number, nowMs: number): void {
    const fill = capacity > 0 ? Math.min(1, Math.max(0, queued / capacity)) : 0;
    this.#level = fill >= this.#level ? fill : this.#level * 0.9 + fill * 0.1;
    this.#at = nowMs;
  }

  /** The smoothed fill 0..1 (0 once stale). */
  level(nowMs: number): number {
    return nowMs - this.#at > LOAD_STALE_MS ? 0 : this.#level;
  }

  /** The factor to multiply keep probabilities by: 1 when not overloaded. */
  factor(nowMs: number): number {
    const level = this.level(nowMs);
    if (level <= this.#shedAt || this.#shedAt >= 1) return 1;
    const f = 1 - (level - this.#shedAt) / (1 - this.#shedAt);
    return Math.max(this.#floor, f);
  }
}
