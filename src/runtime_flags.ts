/**
 * The runtime flags the agent runs with, besides its permissions: baked into the compiled binary
 * (scripts/build/compile.ts), given by `deno task start` (deno.json) and by every test and
 * benchmark that starts the agent. One place, so that all of them run the same agent.
 *
 * `--max-semi-space-size=8` caps V8's young generation at three 8 MiB semi-spaces. Records live
 * for milliseconds; with the default the pipeline's heap kept about 100 MiB committed that it did
 * not use. Measured with `deno task bench` (docs/benchmarks.md): the pipeline's resident
 * high-water mark at 5,000 lifecycles/s went from 408 to 360 MiB, with the same throughput.
 * @module
 */

/** V8 options (`--v8-flags=` takes them comma-separated). */
export const V8_OPTIONS: readonly string[] = ["--max-semi-space-size=8"];

/** The `deno run` / `deno compile` arguments for them. */
export const RUNTIME_FLAGS: readonly string[] = [`--v8-flags=${V8_OPTIONS.join(",")}`];
