import assert from "node:assert/strict";
import { createFileSink } from "../../src/sinks/file.ts";
import { newBatchId } from "../../src/sinks/_batch_id.ts";
import { captureLog, fileSinkConfig, listNames, makeRecord, withinLimit } from "./_helpers.ts";

interface Report {
  scans: number;
  filesRead: number;
  linesParsed: number;
  problems: string[];
}

Deno.test("createFileSink() never shows a reader of *.ndjson a partial line or file", async () => {
  const dir = await Deno.makeTempDir();
  const worker = new Worker(new URL("./_reader_worker.ts", import.meta.url), { type: "module" });
  const messages: { started?: boolean; report?: Report }[] = [];
  const next = () =>
    new Promise<void>((resolve) => {
      worker.onmessage = (e) => {
        messages.push(e.data);
        resolve();
      };
    });
  try {
    let arrived = next();
    worker.postMessage({ dir });
    await withinLimit(arrived, "reader start");
    const sink = createFileSink(fileSinkConfig(dir, { "max-bytes": 4096 }), captureLog());
    await sink.open();
    let seq = 0;
    for (let b = 0; b < 400; b++) {
      const n = 1 + (b % 17);
      const records = Array.from({ length: n }, () => makeRecord(seq++));
      await sink.write({ id: newBatchId(), records });
    }
    await sink.close();
    arrived = next();
    worker.postMessage({ stop: true });
    await withinLimit(arrived, "reader report");
    const report = messages.at(-1)!.report!;
    assert.deepEqual(report.problems.slice(0, 5), []);
    assert.ok(report.scans > 1 && report.filesRead > 10, JSON.stringify(report));
    assert.ok((await listNames(dir)).length > 10, "many rotations happened");
    let lines = 0;
    for (const name of await listNames(dir)) {
      lines += (await Deno.readTextFile(`${dir}/${name}`)).split("\n").length - 1;
    }
    assert.equal(lines, seq);
  } finally {
    worker.terminate();
  }
});
