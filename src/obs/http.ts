/**
 * The self-observability endpoint: `/metrics` (Prometheus text) and `/healthz` (JSON), on a
 * loopback address. Main thread; requests never touch the ack path's state beyond reading it.
 * @module
 */

export interface ObsHandlers {
  metrics(): Promise<string>;
  /** May be async (the spool's state comes from the pipeline worker). */
  health():
    | { status: "ok" | "draining"; [k: string]: unknown }
    | Promise<{ status: "ok" | "draining"; [k: string]: unknown }>;
}

export interface ObsServer {
  /** `host:port` actually bound. */
  address: string;
  close(): Promise<void>;
}

/** Serve `/metrics` and `/healthz` on `listen` (`host:port`, port 0 = any free port). */
export function serveObs(listen: string, h: ObsHandlers): Promise<ObsServer> {
  const at = listen.lastIndexOf(":");
  const hostname = listen.slice(0, at).replace(/^\[|\]$/g, "");
  const port = Number(listen.slice(at + 1));
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname,
        port,
        onListen: (addr) => {
          const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
          resolve({ address: `${host}:${addr.port}`, close: () => server.shutdown() });
        },
        onError: (e) => new Response(`internal error: ${e}\n`, { status: 500 }),
      }, async (req) => {
        const path = new URL(req.url).pathname;
        if (path === "/metrics") {
          return new Response(await h.metrics(), {
            headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
          });
        }
        if (path === "/healthz") {
          const body = await h.health();
          return Response.json(body, { status: body.status === "ok" ? 200 : 503 });
        }
        return new Response("not found: try /metrics or /healthz\n", { status: 404 });
      });
    } catch (e) {
      reject(e);
    }
  });
}
