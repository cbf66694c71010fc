/**
 * A Kubernetes release server on loopback for the `artifacts.source: release` tests: it serves the
 * binaries of a directory in the official layout (`/release/v<version>/bin/linux/<arch>/<name>` and
 * `<name>.sha256` beside it), and can be told to publish a wrong checksum, to answer 404, to accept
 * a request and then send nothing, or to stop sending halfway through a file. It counts requests per
 * path, so a test can prove a file was fetched once.
 */
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import type { Socket } from "node:net";

/** How the server misbehaves, by binary name. */
export interface ReleaseServerFaults {
  /** Publish this text as `<name>.sha256` instead of the file's digest. */
  readonly checksum?: Readonly<Record<string, string>>;
  /** Answer 404 for the binary and its checksum. */
  readonly missing?: readonly string[];
  /** Accept the request for the binary (or its checksum) and never answer. */
  readonly hang?: readonly string[];
  /** Send the headers and half of the binary, then nothing more. */
  readonly stall?: readonly string[];
}

/** A running server: its base URL (the inventory's releaseUrl), request counts, faults to change, close. */
export interface ReleaseServer {
  readonly url: string;
  /** Requests per URL path. */
  readonly requests: Map<string, number>;
  faults: ReleaseServerFaults;
  close(): Promise<void>;
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** Serves the binaries in `dir` as release `version` for `arch` on 127.0.0.1 (a free port). */
export async function startReleaseServer(
  dir: string,
  version: string,
  o: { arch?: string; faults?: ReleaseServerFaults } = {},
): Promise<ReleaseServer> {
  const prefix = `/release/v${version.replace(/^v/, "")}/bin/linux/${o.arch ?? "amd64"}/`;
  const requests = new Map<string, number>();
  // Hashed before the first request, so no answer waits on a 70 MB read.
  const digests = new Map<string, string>();
  for (const f of readdirSync(dir)) if (statSync(join(dir, f)).isFile()) digests.set(f, await sha256Of(join(dir, f)));
  const sockets = new Set<Socket>();
  const self: ReleaseServer = { url: "", requests, faults: o.faults ?? {}, close: async () => undefined };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    requests.set(path, (requests.get(path) ?? 0) + 1);
    const f = self.faults;
    if (!path.startsWith(prefix)) return void res.writeHead(404).end("not found\n");
    const file = path.slice(prefix.length);
    const checksum = file.endsWith(".sha256");
    const name = checksum ? file.slice(0, -".sha256".length) : file;
    if (name.includes("/") || name.startsWith(".")) return void res.writeHead(404).end();
    if (f.hang?.includes(name)) return; // accepted, never answered
    const binary = join(dir, name);
    let size: number;
    try {
      size = statSync(binary).size;
    } catch {
      return void res.writeHead(404).end("not found\n");
    }
    if (f.missing?.includes(name)) return void res.writeHead(404).end("not found\n");
    if (checksum) {
      const text = f.checksum?.[name] ?? digests.get(name) ?? "";
      return void res.writeHead(200, { "content-type": "text/plain" }).end(text);
    }
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(size) });
    if (f.stall?.includes(name)) {
      const half = createReadStream(binary, { end: Math.floor(size / 2) - 1 });
      half.on("data", (c) => res.write(c));
      return; // the rest never comes
    }
    createReadStream(binary).pipe(res);
  };
  const server: Server = createServer(handle);
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("the release server has no port");
  return Object.assign(self, {
    url: `http://127.0.0.1:${addr.port}`,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  });
}
