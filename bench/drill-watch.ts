/**
 * The drill's `yagura reconcile --watch`: a real child process whose output is kept line by line
 * (with the pass lines counted) and in a file per incarnation, so it can be SIGKILLed and started
 * again and everything it printed is still scanned at the end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The watch child of the drill. */
export class WatchChild {
  /** Every line any incarnation printed, in order. */
  readonly lines: string[] = [];
  metricsAddr = "";
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private files: string[] = [];
  private out: WriteStream | undefined;

  constructor(
    private readonly dir: string,
    private readonly inventory: string,
    private readonly env: Readonly<Record<string, string>>,
  ) {}

  /** Starts an incarnation (metrics on a fresh loopback port). */
  async start(): Promise<void> {
    this.metricsAddr = `127.0.0.1:${await freePort()}`;
    const file = join(this.dir, `watch-${this.files.length + 1}.out`);
    this.files.push(file);
    const out = (this.out = createWriteStream(file));
    const args = ["reconcile", this.inventory, "--watch", "--interval", "10s", "--metrics-addr", this.metricsAddr];
    const child = (this.child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: "1", ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    }));
    let buf = "";
    const feed = (d: Buffer) => {
      out.write(d);
      buf += d.toString();
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
    child.stdout!.on("data", feed);
    child.stderr!.on("data", feed);
    this.exited = new Promise((r) =>
      child.on("close", (code, signal) => {
        this.lines.push(`(watch exited: ${code ?? signal})`);
        out.end();
        r();
      }),
    );
  }

  /** Waits until a line after index `from` matches; false after `ms`. */
  async waitFor(re: RegExp, from: number, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    for (;;) {
      for (let i = from; i < this.lines.length; i++) if (re.test(this.lines[i]!)) return true;
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGKILL, as a crash would. */
  async kill(): Promise<void> {
    this.child?.kill("SIGKILL");
    await this.exited;
  }

  /** SIGTERM (the op in hand finishes), SIGKILL after 120 s. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill("SIGTERM");
    const t = setTimeout(() => c.kill("SIGKILL"), 120_000);
    await this.exited;
    clearTimeout(t);
  }

  /** Reconcile passes (observe, decide, run) printed after line `from`. */
  passesSince(from: number): number {
    return this.lines.slice(from).filter((l) => /^pass \d+: /.test(l)).length;
  }

  /** The last pass line. */
  lastPass(): string | undefined {
    return this.lines.findLast((l) => /^watch pass \d+: /.test(l));
  }

  /** The last failed op line. */
  lastFailure(): string | undefined {
    return this.lines.findLast((l) => /^ {2}✗ /.test(l));
  }

  /** The output file of every incarnation. */
  outputFiles(): string[] {
    return [...this.files];
  }
}
