import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Runway } from "../runtime/runway.js";
import { createApp } from "./app.js";
import { EventFeed } from "./event-feed.js";
import { isLoopback, loadOrCreateToken } from "./security.js";

export interface ServeOptions {
  runway: Runway;
  home: string;
  host?: string;
  port?: number;
  /** A token to require; bound beyond loopback without one, one is made and kept in RUNWAY_HOME. */
  token?: string | null;
  readOnly?: boolean;
  sshConfig?: string | null;
}

export interface RunningServer {
  url: string;
  /** The token requests need, or null on loopback without one. */
  token: string | null;
  tokenFile: string | null;
  close(): Promise<void>;
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const host = o.host ?? "127.0.0.1";
  let token = o.token ?? null;
  let tokenFile: string | null = null;
  if (token === null && !isLoopback(host)) {
    token = loadOrCreateToken(o.home);
    tokenFile = `${o.home}/token`;
  }
  const feed = new EventFeed(o.runway, o.home);
  await feed.start();
  const app = createApp({ runway: o.runway, feed, home: o.home, token, readOnly: !!o.readOnly, ...(o.sshConfig !== undefined ? { sshConfig: o.sshConfig } : {}) });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: o.port ?? 7400 }, () => resolve(s));
    s.once("error", reject);
  }).catch((err: unknown) => {
    feed.stop();
    throw err;
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shown}:${addr.port}`,
    token,
    tokenFile,
    close: () =>
      new Promise<void>((resolve) => {
        feed.stop();
        // Event streams stay open for ever; they are cut, not waited for.
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
