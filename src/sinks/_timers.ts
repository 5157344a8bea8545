/**
 * Cancellable waits for the sink runner: a sleep an abort signal cuts short, and a race of a
 * promise against a time limit. Every timer is cleared when the wait ends.
 * Any thread. Never rejects.
 * @module
 */

/** Resolve after `ms`, or at once when `signal` aborts (also when it already has). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(id);
      resolve();
    };
    const id = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** `p`'s value, or `"timeout"` when `ms` passes first. `p` must not reject. */
export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
