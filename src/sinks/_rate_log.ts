/**
 * Rate-limited logging for one sink: at most one line per reason per interval; lines that were
 * held back are counted and the count rides on the next line (`suppressed`) or on `flush()`.
 * Any thread. Never throws, never sets a timer (the interval is checked when a line arrives).
 * @module
 */

import type { SinkDeps } from "./contract.ts";

type Level = "debug" | "info" | "warn" | "error";

interface Slot {
  lastAt: number;
  suppressed: number;
  level: Level;
  msg: string;
}

/** One per sink; `reason` is a bounded key (a drop reason or an error code). */
export class RateLimitedLog {
  #log: SinkDeps["log"];
  #sink: string;
  #intervalMs: number;
  #slots = new Map<string, Slot>();

  constructor(log: SinkDeps["log"], sink: string, intervalMs: number) {
    this.#log = log;
    this.#sink = sink;
    this.#intervalMs = intervalMs;
  }

  /** Log now, or count it as suppressed when `reason` was logged less than an interval ago. */
  report(reason: string, level: Level, msg: string, fields: object = {}): void {
    const now = performance.now();
    const slot = this.#slots.get(reason);
    if (slot !== undefined && now - slot.lastAt < this.#intervalMs) {
      slot.suppressed++;
      return;
    }
    const suppressed = slot?.suppressed ?? 0;
    this.#slots.set(reason, { lastAt: now, suppressed: 0, level, msg });
    this.#write(level, msg, { ...fields, reason, suppressed });
  }

  /** Write one summary line per reason that still has suppressed lines (used at shutdown). */
  flush(): void {
    for (const [reason, slot] of this.#slots) {
      if (slot.suppressed === 0) continue;
      this.#write(slot.level, `${slot.msg} (suppressed lines since the last report)`, {
        reason,
        suppressed: slot.suppressed,
      });
      slot.suppressed = 0;
    }
  }

  #write(level: Level, msg: string, fields: object): void {
    try {
      this.#log(level, msg, { sink: this.#sink, ...fields });
    } catch (err) {
      // A broken logger must not break delivery; there is nowhere left to report it.
      console.error("sink log failed", err);
    }
  }
}
