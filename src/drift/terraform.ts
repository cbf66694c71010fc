/**
 * Running the terraform binary for a drift check, and reading its failures. Terraform runs with
 * CHECKPOINT_DISABLE (no version check call home) and TF_IN_AUTOMATION, never with a lock (a plan
 * must not block a `cdktf deploy` in progress) and never with input. Nothing here applies.
 */
import { spawn } from "node:child_process";

/** What one terraform run printed and how it exited. */
export interface TfRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The terraform binary was not found or could not start. */
export class TerraformMissingError extends Error {
  override readonly name = "TerraformMissingError";
}

/** Runs `terraform ARGS` in `cwd`; resolves with its exit code and output (never rejects on a non-zero exit). */
export function terraform(
  args: readonly string[],
  cwd: string,
  bin = "terraform",
  timeoutMs = 600_000,
): Promise<TfRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["-chdir=" + cwd, ...args], {
      env: { ...process.env, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    child.on("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "ENOENT"
          ? new TerraformMissingError(`${bin} is not installed or not on PATH: install Terraform 1.5 or later`)
          : err,
      ),
    );
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr: signal ? `${stderr}\nkilled by ${signal}` : stderr }),
    );
  });
}

/**
 * Terraform's first error, in one line: the "Error: …" title and the first line of its detail
 * (Terraform wraps a diagnostic's detail over several lines; they are joined). The CLI-config
 * warnings Terraform prints before it are skipped.
 */
export function firstError(text: string): string | undefined {
  const lines = text.split("\n").map((l) => l.replace(/^[│╷╵]\s?/, "").trimEnd());
  // init's own "problems during initialisation" header only announces the real diagnostics below it.
  const i = lines.findIndex(
    (l) => /^Error: /.test(l.trim()) && !/^Error: Terraform encountered problems/.test(l.trim()),
  );
  if (i < 0) return undefined;
  const title = lines[i]!.trim().replace(/^Error: /, "");
  const detail: string[] = [];
  let j = i + 1;
  while (j < lines.length && lines[j]!.trim() === "") j++;
  for (; j < lines.length && lines[j]!.trim() !== ""; j++) detail.push(lines[j]!.trim());
  return (detail.length ? `${title}: ${detail.join(" ")}` : title).replace(/\s+/g, " ");
}

/** Why Terraform could not say whether the stack drifted. */
export type UnknownReason = "provider" | "config" | "terraform";

// Terraform's messages when it cannot install, load or talk to a provider (init and plan).
const PROVIDER = [
  /Failed to query available provider packages/,
  /Failed to install provider/,
  /Failed to resolve provider packages/,
  /Incompatible provider version/,
  /provider registry|registry\.terraform\.io|could not connect to/i,
  /Missing required provider/,
  /Inconsistent dependency lock file/,
  /Failed to load plugin schemas/,
  /failed to instantiate provider/i,
  /Required plugins are not installed/,
  /Authentication failed|auth_url|clouds\.yaml|Unable to establish connection|dial tcp|no such host|connection refused/i,
];

// A diagnostic that points into the configuration: the synthesized stack itself is wrong.
const CONFIG = /^\s*on \S+\.tf(\.json)? line \d+/m;

/** Classifies a failed init or plan by its output. */
export function classifyFailure(text: string): UnknownReason {
  if (PROVIDER.some((re) => re.test(text))) return "provider";
  if (CONFIG.test(text)) return "config";
  return "terraform";
}
