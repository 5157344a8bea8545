/**
 * A TCP proxy on loopback that injects network failures between a sink and a real server:
 * `down()` closes the listener and cuts every open connection (clients get "connection
 * refused", as from a dead server), `up()` listens again on the same port, and `resetNext(n)`
 * cuts the next `n` connections after their first request bytes (a crash mid-request).
 * Test-only helper.
 * @module
 */

/** A running proxy. */
export interface FaultProxy {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Connections accepted so far. */
  readonly connections: number;
  down(): void;
  up(): void;
  resetNext(n: number): void;
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * Proxy `127.0.0.1:<free port>` to `target`.
 *
 * @example
 * ```ts
 * using proxy = startFaultProxy({ hostname: "127.0.0.1", port: 8333 });
 * proxy.down(); // the sink now sees connection refused
 * ```
 */
export function startFaultProxy(target: { hostname: string; port: number }): FaultProxy {
  let listener: Deno.Listener | undefined = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const open = new Set<Deno.Conn>();
  let toReset = 0;
  let connections = 0;

  const serve = async (l: Deno.Listener) => {
    try {
      for await (const conn of l) {
        connections++;
        const reset = toReset > 0;
        if (reset) toReset--;
        void pipe(conn, reset);
      }
    } catch (err) {
      // `down()` closing the listener ends the loop; anything else is a bug in the test.
      if (!(err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted)) {
        throw err;
      }
    }
  };

  const pipe = async (client: Deno.Conn, reset: boolean) => {
    open.add(client);
    let server: Deno.Conn | undefined;
    try {
      server = await Deno.connect(target);
      open.add(server);
      if (reset) {
        const buf = new Uint8Array(1024);
        await client.read(buf);
        return; // the finally block cuts both sides mid-request
      }
      await Promise.all([
        client.readable.pipeTo(server.writable),
        server.readable.pipeTo(client.writable),
      ]);
    } catch {
      // A cut connection ends its pipes with an error; that is the point of this proxy.
    } finally {
      for (const c of [client, server]) {
        if (c === undefined) continue;
        open.delete(c);
        try {
          c.close();
        } catch {
          // already closed by the pipe
        }
      }
    }
  };

  void serve(listener);
  const down = () => {
    listener?.close();
    listener = undefined;
    for (const c of open) {
      try {
        c.close();
      } catch {
        // already closed
      }
    }
    open.clear();
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get connections() {
      return connections;
    },
    down,
    up() {
      if (listener !== undefined) return;
      listener = Deno.listen({ hostname: "127.0.0.1", port });
      void serve(listener);
    },
    resetNext(n: number) {
      toReset += n;
    },
    close: down,
    [Symbol.dispose]: down,
  };
}
