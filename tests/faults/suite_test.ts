/**
 * The fault suite (docs/reliability.md): each promise of issue 8 is a test and a row of the
 * table printed at the end. Short in CI (FAULTS_* variables shorten it); `deno task soak` runs
 * the real durations. Run: deno test -A tests/faults/
 */

import { baseline, kill9UnderLoad, sigtermUnderLoad, sinkOutage } from "./_http_scenarios.ts";
import { printTable } from "./_harness.ts";
import { overload } from "./_overload.ts";
import { CAN_MOUNT, diskFull } from "./_disk_full.ts";
import { fuzzRow } from "./_fuzz_row.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

Deno.test({ name: "faults 0: unloaded baseline (p99 reference)", ...opts, fn: baseline });
Deno.test({ name: "faults 1: a sink down for a long time loses nothing", ...opts, fn: sinkOutage });
Deno.test({ name: "faults 2: SIGTERM under load loses nothing", ...opts, fn: sigtermUnderLoad });
Deno.test({ name: "faults 3: kill -9 loses at most the window", ...opts, fn: kill9UnderLoad });
Deno.test({ name: "faults 4: 10× overload keeps acks fast and recovers", ...opts, fn: overload });
Deno.test({
  name: "faults 5: disk full on the sink and the spool: counted drops, then recovery",
  ignore: !CAN_MOUNT,
  ...opts,
  fn: diskFull,
});
Deno.test({
  name: "faults 6: malformed input (fuzz) never crashes or hangs",
  ...opts,
  fn: fuzzRow,
});
Deno.test({ name: "faults: the table", ...opts, fn: printTable });
