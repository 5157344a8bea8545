/**
 * The sampler's gauges: the shedding factor, the smoothed hand-off fill it is derived from, and
 * the keys the per-key budget tracks. Pipeline worker. (Decisions are counted by the pipeline:
 * telemetry_records_emitted_total{decision} and telemetry_events_dropped_total{stage="sample"}.)
 * Emits: telemetry_sampling_shed_factor, telemetry_sampling_load_ratio, telemetry_sampling_keys.
 * @module
 */

import type { Registry } from "../obs/metrics.ts";
import type { Sampler } from "./sampler.ts";

/** Register the sampler's gauges on the worker's registry. */
export function registerSamplerMetrics(sampler: Sampler, registry: Registry): void {
  registry.gauge(
    "telemetry_sampling_shed_factor",
    "Factor overload shedding multiplies keep probabilities by (1: not shedding).",
  ).probe(() => sampler.stats().shedFactor);
  registry.gauge(
    "telemetry_sampling_load_ratio",
    "Smoothed hand-off queue fill (queued / capacity) the sampler sheds by.",
  ).probe(() => sampler.stats().load);
  registry.gauge(
    "telemetry_sampling_keys",
    "Distinct keys the per-key sampler tracks in the current interval.",
  ).probe(() => sampler.stats().keys);
}
