/**
 * Promise 5: disk full on the file sink and on the spool, each a small tmpfs mounted for the
 * test (needs root). The file sink's disk fills first (its writes fail, retryable: the breaker
 * opens and batches go to the spool), then the spool's disk fills (its full-policy drops the
 * oldest segment, counted). Space returns — finished files are shipped away — and the agent
 * recovers by itself: the sink writes again and the spool replays. No crash, counted drops,
 * and everything else delivered.
 * Test-only.
 * @module
 */

import assert from "node:assert/strict";
import { startAgent } from "../helpers/agent.ts";
import { connectV2 } from "../helpers/proxy_client.ts";
import {
  ackP99Ms,
  addRow,
  dropsByReason,
  KNOBS,
  RssSampler,
  sampledOut,
  scrape,
  SteadyLoad,
  sumOf,
  until,
} from "./_harness.ts";

/** Whether this process may mount file systems (the test is skipped otherwise). */
export const CAN_MOUNT = Deno.build.os === "linux" && Deno.uid() === 0;

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function tmpfs(dir: string, size: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await run("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
}

async function countEvents(dirs: string[]): Promise<number> {
  const seen = new Map<string, number>();
  for (const dir of dirs) {
    for await (const e of Deno.readDir(dir)) {
      if (!e.name.endsWith(".ndjson")) continue;
      for (const line of (await Deno.readTextFile(`${dir}/${e.name}`)).split("\n")) {
        if (!line) continue;
        const r = JSON.parse(line);
        seen.set(r.request.correlation_id, r.events);
      }
    }
  }
  return [...seen.values()].reduce((a, b) => a + b, 0);
}

/** Move finished files off the full disk (the consumer shipping them away). */
async function ship(from: string, to: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(from)) {
    if (!e.name.endsWith(".ndjson")) continue;
    await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    await Deno.remove(`${from}/${e.name}`);
    n++;
  }
  return n;
}

function config(sinkDir: string, spoolTop: string): string {
  return `sampling { rate 1.0; }
shutdown-timeout-ms 5000
sink "file" {
    directory "${sinkDir}"
    max-bytes 262144
    batch-size 200
    flush-interval-ms 200
    retry-max 2
    retry-base-ms 50
    retry-cap-ms 200
    breaker-failures 3
    breaker-cooldown-ms 300
    breaker-max-cooldown-ms 1000
    max-queue-records 20000
}
spool { directory "${spoolTop}"; max-bytes 268435456; segment-bytes 262144; fsync-ms 200; }`;
}

export async function diskFull(): Promise<void> {
  // Both file systems live under the spool's top directory, which the agent may write: the
  // test helper points the file sink at its own data dir, so this one comes by --data-dir.
  const root = await Deno.makeTempDir({ prefix: "telemetry-faults-disk-" });
  const top = `${root}/fs`;
  const sinkDir = `${top}/sink`;
  const spoolDir = `${top}/file`;
  const shipped = `${root}/shipped`;
  await Deno.mkdir(shipped);
  await tmpfs(sinkDir, "6m");
  await tmpfs(spoolDir, "3m");
  try {
    await using agent = await startAgent({
      config: config(sinkDir, top),
      args: ["--data-dir", sinkDir],
    });
    const rss = new RssSampler(agent.pid);
    const c = await connectV2(agent.socketPath, { encodings: ["json"] });
    const load = new SteadyLoad(c, "d", KNOBS.rate * 2);
    load.start();
    const spoolFull = await until(async () => {
      const m = await scrape(agent);
      return m !== null && sumOf(m, "telemetry_spool_full_total") > 0;
    }, 90_000);
    await new Promise((r) => setTimeout(r, 3000));
    await ship(sinkDir, shipped);
    await new Promise((r) => setTimeout(r, 2000));
    await load.stop();
    await until(() => load.acked >= load.lifecyclesSent * 2, 5000);
    const replayed = await until(async () => {
      await ship(sinkDir, shipped);
      const m = await scrape(agent);
      return m !== null && sumOf(m, "telemetry_spool_records") === 0 &&
        sumOf(m, "telemetry_sink_queue_records") === 0;
    }, 90_000);
    const m = (await scrape(agent))!;
    await c.close();
    assert.equal((await agent.stop()).code, 0, "no crash: a clean exit");
    const delivered = await countEvents([shipped, sinkDir]);
    const drops = dropsByReason(m);
    const dropped = Object.values(drops).reduce((a, b) => a + b, 0);
    const lost = load.acked - delivered - sampledOut(m) - dropped;
    addRow({
      scenario: "disk full: file sink (6 MiB tmpfs) and spool (3 MiB tmpfs)",
      eventsIn: load.acked,
      delivered,
      sampledOut: sampledOut(m),
      dropped: drops,
      lost,
      maxRssMiB: rss.stop(),
      ackP99Ms: ackP99Ms(m),
      ackP99Ratio: null,
    });
    assert.ok(spoolFull, "the spool's disk filled");
    assert.ok(replayed, "the agent recovered once space returned");
    assert.ok((drops["sink/spool_full"] ?? 0) > 0, "counted drops");
    assert.ok(sumOf(m, "telemetry_sink_send_failures_total", { code: "sink_io" }) > 0);
    assert.equal(lost, 0);
  } finally {
    await run("umount", [sinkDir]).catch((e) => console.error(String(e)));
    await run("umount", [spoolDir]).catch((e) => console.error(String(e)));
    await Deno.remove(root, { recursive: true });
  }
}
