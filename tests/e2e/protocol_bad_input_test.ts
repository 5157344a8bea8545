/**
 * Bad input affects only its own connection (PROTOCOL.md §1, §9.9–9.12): each case runs on its
 * own connection while a healthy connection, opened before it, must still be answered after it.
 * Also: byte-by-byte and coalesced frames, Ping/Cancel, and the socket file at start-up.
 * @module
 */

import assert from "node:assert/strict";
import { type AgentProcess, AgentStartError, startAgent } from "../helpers/agent.ts";
import { concat, frameV1, frameV2, MSG, u32be, V1_MAX, V2_MAX } from "../helpers/frames.ts";
import {
  eventJson,
  requestHeadersEvent,
  responseHeadersEvent,
  v1Frame,
  v2EventFrame,
} from "../helpers/proxy_encode.ts";
import { connectV1, connectV2, type V2Client } from "../helpers/proxy_client.ts";

const enc = new TextEncoder();
let seq = 0;
const nextId = (p: string) => `${p}-${++seq}`;

/** Run `bad` while a healthy v2 connection, opened first, must keep being answered. */
async function isolated(agent: AgentProcess, bad: () => Promise<void>): Promise<void> {
  await using healthy = await connectV2(agent.socketPath);
  await healthy.answer(await healthy.send("response_headers", responseHeadersEvent(nextId("h"))));
  await bad();
  await healthy.answer(await healthy.send("response_headers", responseHeadersEvent(nextId("h"))));
  assert.deepStrictEqual(healthy.violations, [], "healthy connection");
  // And the listener still accepts new connections.
  await using fresh = await connectV2(agent.socketPath);
  await fresh.answer(await fresh.send("request_headers", requestHeadersEvent(nextId("f"))));
}

/** The connection is closed by the agent within 2 s, and nothing it wrote broke the protocol. */
async function assertClosed(
  c: { waitClosed(ms?: number): Promise<boolean>; violations: string[] },
) {
  assert.equal(await c.waitClosed(2000), true, "the agent should close this connection within 2 s");
  assert.deepStrictEqual(c.violations, []);
}

async function answeredV1(path: string): Promise<Awaited<ReturnType<typeof connectV1>>> {
  const c = await connectV1(path);
  await c.send("response_headers", responseHeadersEvent(nextId("v1")));
  await c.next();
  return c;
}

/** The agent's resident set size. Read through `cat`: Deno wants --allow-all for /proc/<pid>. */
async function vmRssKiB(pid: number): Promise<number> {
  const out = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  const m = /^VmRSS:\s+(\d+) kB/m.exec(new TextDecoder().decode(out.stdout));
  if (!out.success || !m) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

Deno.test("agent closes a v1 connection on N = 0", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    await using c = await answeredV1(agent.socketPath);
    await c.write(u32be(0));
    await assertClosed(c);
    assert.equal(c.received, 1);
  });
});

Deno.test("agent closes a v1 connection on N > 10 MiB promptly without allocating N", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    const before = await vmRssKiB(agent.pid);
    // After a first frame (the connection is known to be v1): the header alone.
    await using a = await answeredV1(agent.socketPath);
    await a.write(u32be(V1_MAX + 1));
    await assertClosed(a);
    // As the first frame: the header and the `{` that marks v1.
    await using b = await connectV1(agent.socketPath);
    await b.write(concat([u32be(V1_MAX + 1), enc.encode("{")]));
    await assertClosed(b);
    const grown = (await vmRssKiB(agent.pid)) - before;
    assert.ok(grown < 10 * 1024, `agent RSS grew by ${grown} KiB`);
  });
});

Deno.test("agent closes a v2 connection on N = 0 and on N = 16 MiB + 1", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    await using zero = await connectV2(agent.socketPath);
    await zero.write(u32be(0));
    await assertClosed(zero);
    const before = await vmRssKiB(agent.pid);
    await using big = await connectV2(agent.socketPath);
    await big.write(concat([u32be(V2_MAX + 1), new Uint8Array([MSG.REQUEST_HEADERS])]));
    await assertClosed(big);
    const grown = (await vmRssKiB(agent.pid)) - before;
    assert.ok(grown < 10 * 1024, `agent RSS grew by ${grown} KiB`);
  });
});

Deno.test("agent acks a v2 frame of exactly N = 16 MiB", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    await using c = await connectV2(agent.socketPath);
    const cid = nextId("big");
    const base = eventJson(
      "request_headers",
      requestHeadersEvent(cid, { headers: { "x-pad": [""] } }),
      cid,
    );
    const pad = V2_MAX - 1 - base.length;
    const event = requestHeadersEvent(cid, { headers: { "x-pad": ["a".repeat(pad)] } });
    const frame = v2EventFrame("request_headers", event, cid, "json");
    assert.equal(new DataView(frame.buffer).getUint32(0), V2_MAX);
    c.expect(cid);
    await c.write(frame);
    await c.answer(cid, 20_000);
    assert.deepStrictEqual(c.violations, []);
  });
});

Deno.test("agent drops a connection that sends an unknown type byte, or ignores the frame", async () => {
  // PROTOCOL.md §3.2 lists every type; 0x7f is none of them. The proxy's own reader fails on an
  // unknown type byte; §9.11 only demands that the damage stays on that connection. So either
  // the agent closes the connection, or it skips the frame without answering and goes on.
  await using agent = await startAgent();
  await isolated(agent, async () => {
    await using c = await connectV2(agent.socketPath);
    await c.write(frameV2(0x7f, enc.encode('{"correlation_id":"u"}')));
    if (!(await c.waitClosed(500))) {
      await c.answer(await c.send("response_headers", responseHeadersEvent(nextId("after-7f"))));
    }
    assert.deepStrictEqual(c.violations, [], "no answer to the unknown frame, no stray type byte");
  });
});

Deno.test("agent closes a connection on a malformed JSON event", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    await using c = await connectV2(agent.socketPath);
    await c.write(frameV2(MSG.REQUEST_HEADERS, enc.encode("{not json at all")));
    await assertClosed(c);
  });
});

Deno.test("agent closes a connection on malformed MessagePack", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    await using c = await connectV2(agent.socketPath, { encodings: ["msgpack", "json"] });
    assert.equal(c.encoding, "msgpack");
    // 0xc1 is the one marker MessagePack never uses; then a map that ends too early.
    await c.write(frameV2(MSG.RESPONSE_HEADERS, new Uint8Array([0xc1, 0x00])));
    await assertClosed(c);
    await using d = await connectV2(agent.socketPath, { encodings: ["msgpack"] });
    await d.write(frameV2(MSG.RESPONSE_HEADERS, new Uint8Array([0x84, 0xae, 0x63])));
    await assertClosed(d);
  });
});

Deno.test("agent closes a connection whose byte 4 is neither 0x7b nor 0x01", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    for (const first of [0x00, 0x02, 0x20, 0x5b, 0xff]) {
      await using c = await connectV1(agent.socketPath);
      await c.write(concat([u32be(3), new Uint8Array([first, 0x7d, 0x7d])]));
      await assertClosed(c);
    }
  });
});

Deno.test("agent closes a v2 connection that sends an event before the handshake", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    await using c = await connectV2(agent.socketPath, { handshake: false });
    await c.write(v2EventFrame("response_headers", responseHeadersEvent("pre"), "pre", "json"));
    await assertClosed(c);
  });
});

Deno.test("agent survives a half-written frame and a disconnect", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    const v2 = await connectV2(agent.socketPath);
    const frame = v2.eventFrame("request_headers", requestHeadersEvent(nextId("half")));
    await v2.write(frame.subarray(0, frame.length >> 1));
    await v2.close();
    const v1 = await connectV1(agent.socketPath);
    await v1.write(v1Frame("response_headers", responseHeadersEvent("half")).subarray(0, 9));
    await v1.close();
  });
});

async function writeByteByByte(c: { write(b: Uint8Array): Promise<void> }, bytes: Uint8Array) {
  for (let i = 0; i < bytes.length; i++) {
    await c.write(bytes.subarray(i, i + 1));
    await new Promise((r) => setTimeout(r, 0));
  }
}

Deno.test("agent answers frames split byte by byte", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    for (const encodings of [["json"], ["msgpack"]]) {
      await using c = await connectV2(agent.socketPath, { encodings });
      const cids = [nextId("b"), nextId("b")];
      const frames = concat([
        c.eventFrame("request_headers", requestHeadersEvent(cids[0])),
        c.eventFrame("response_headers", responseHeadersEvent(cids[1])),
      ]);
      await writeByteByByte(c, frames);
      for (const cid of cids) await c.answer(cid);
      assert.deepStrictEqual(c.violations, []);
    }
    await using v1 = await connectV1(agent.socketPath);
    await writeByteByByte(v1, v1Frame("request_headers", requestHeadersEvent(nextId("b1"))));
    await v1.next();
    await writeByteByByte(v1, v1Frame("response_headers", responseHeadersEvent("b1")));
    await v1.next();
    assert.deepStrictEqual(v1.violations, []);
  });
});

Deno.test("agent answers several frames sent in one write", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    await using c = await connectV2(agent.socketPath, { encodings: ["msgpack", "json"] });
    const cids = Array.from({ length: 50 }, () => nextId("many"));
    const frames = cids.map((cid, i) =>
      i % 2
        ? c.eventFrame("response_headers", responseHeadersEvent(cid))
        : c.eventFrame("request_headers", requestHeadersEvent(cid))
    );
    // The handshake's answer is in; the events and a Ping go in one write.
    await c.write(
      concat([...frames, frameV2(MSG.PING, enc.encode('{"sequence":9,"timestamp_ms":1}'))]),
    );
    for (const cid of cids) await c.answer(cid);
    assert.deepStrictEqual(
      new TextDecoder().decode(await c.pong()),
      '{"sequence":9,"timestamp_ms":1}',
    );
    assert.deepStrictEqual(c.violations, []);
    // v1 with two frames in one write: the second waits its turn, both are answered.
    await using v1 = await connectV1(agent.socketPath);
    await v1.write(concat([
      frameV1(
        enc.encode(
          '{"version":1,"event_type":"configure","payload":{"agent_id":"t","config":null}}',
        ),
      ),
      v1Frame("response_headers", responseHeadersEvent("v1-pair")),
    ]));
    await v1.next();
    await v1.next();
    assert.deepStrictEqual(v1.violations, []);
  });
});

Deno.test("agent answers a Ping with a Pong carrying the same payload", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    await using c = await connectV2(agent.socketPath, { encodings: ["msgpack", "json"] });
    for (const seqNo of [0, 1, 4294967296]) {
      const sent = await c.ping(seqNo, 1700000000000);
      assert.deepStrictEqual(await c.pong(), sent);
    }
    assert.deepStrictEqual(c.violations, []);
  });
});

Deno.test("agent takes Cancel for known and unknown ids without a reply or a close", async () => {
  await using agent = await startAgent();
  await isolated(agent, async () => {
    await using c = await connectV2(agent.socketPath);
    const known = await c.send("request_headers", requestHeadersEvent(nextId("k")));
    await c.cancel(known, 1);
    await c.cancel("never-seen", 4);
    await c.answer(known);
    await assertStillServing(c);
    assert.equal(c.closedByAgent, false);
    assert.deepStrictEqual(c.answered.filter((x) => x === known).length, 1);
  });
});

async function assertStillServing(c: V2Client): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await c.answer(await c.send("response_headers", responseHeadersEvent(nextId("still"))));
  }
  assert.deepStrictEqual(c.violations, []);
}

Deno.test("agent replaces a stale socket file left by a killed agent", async () => {
  const first = await startAgent();
  const socket = first.socketPath;
  first.signal("SIGKILL");
  await first.stop();
  assert.ok(Deno.lstatSync(socket).isSocket, "the killed agent left its socket file behind");
  try {
    await using second = await startAgent({ socket });
    await isolated(second, async () => {});
    assert.ok(
      second.logs().some((l) => /stale/i.test(String(l.msg))),
      "replacing a stale socket file should be logged",
    );
  } finally {
    await Deno.remove(first.tmpDir, { recursive: true });
  }
});

Deno.test("agent refuses to start on a socket a live agent serves, and the live one goes on", async () => {
  await using live = await startAgent();
  await using before = await connectV2(live.socketPath);
  const err = await startAgent({ socket: live.socketPath }).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof AgentStartError, `second agent should fail, got ${err}`);
  assert.ok(
    err.stderr.includes(live.socketPath),
    `the error should name the socket:\n${err.stderr}`,
  );
  assert.notEqual(err.code, 0);
  await isolated(live, async () => {});
  await assertStillServing(before);
});
