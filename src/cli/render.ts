/**
 * `yagura render ENV --out DIR`: every cluster object and node file yagura would apply, written as
 * files for a person (or a review in CI) to read. Needs no cluster and no network beyond reading
 * the add-on bundle sources. Secrets are redacted: the cloud.conf application credential secret,
 * the Secret encryption key, and any node file marked secret.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { credentialFromOutputs } from "../addons/credentials.js";
import { fileNameOf, objectYaml } from "../addons/objects.js";
import type { ClusterSpec } from "../cluster/spec.js";
import { UserError } from "./errors.js";
import { requireSpec } from "./inventory.js";

/** What every redacted value reads. */
export const REDACTED = "REDACTED-by-yagura-render";

/** Counts of what `renderEnvironment` wrote. */
export interface RenderSummary {
  readonly objects: number;
  readonly nodeFiles: number;
}

/** The output directory may hold only what a previous render wrote; that is replaced. */
function prepareOut(out: string): void {
  if (existsSync(out)) {
    const foreign = readdirSync(out).filter((f) => f !== "cluster" && f !== "nodes");
    if (foreign.length > 0) {
      throw new UserError(
        `${out} holds files yagura render did not write (${foreign.slice(0, 3).join(", ")}): choose an empty or new directory`,
      );
    }
    rmSync(join(out, "cluster"), { recursive: true, force: true });
    rmSync(join(out, "nodes"), { recursive: true, force: true });
  }
  mkdirSync(join(out, "cluster"), { recursive: true });
  mkdirSync(join(out, "nodes"), { recursive: true });
}

/** Writes the cluster objects (rank order, record last) and each node's files under `out`. */
export async function renderEnvironment(
  spec: ClusterSpec,
  inventoryFile: string,
  out: string,
  o: { readonly outputsFile?: string } = {},
): Promise<RenderSummary> {
  // The renderers (and handlebars) load when a render runs, not with every command (scripts/build.mjs).
  const [{ managedRecord }, { loadBundles }, { renderAddons }, { AddonSourceError }, { renderNode }] =
    await Promise.all([
      import("../addons/desired.js"),
      import("../addons/prepare.js"),
      import("../addons/render/index.js"),
      import("../addons/sources.js"),
      import("../k8s/render/index.js"),
    ]);
  let bundles;
  try {
    bundles = await loadBundles(spec, inventoryFile);
  } catch (err) {
    if (err instanceof AddonSourceError) throw new UserError(err.message);
    throw err;
  }
  // The id is not secret and helps a review; the secret never leaves the stack outputs.
  const id = credentialFromOutputs(spec.env, o.outputsFile ?? process.env["YAGURA_STACK_OUTPUTS"])?.id ?? REDACTED;
  const objects = renderAddons(spec, { bundles, credential: { id, secret: REDACTED } });
  prepareOut(out);
  for (const obj of objects) writeFileSync(join(out, "cluster", fileNameOf(obj)), objectYaml(obj));
  if (objects.length > 0) {
    const record = managedRecord(objects);
    // Written after everything else, so named to sort last.
    writeFileSync(join(out, "cluster", fileNameOf(record).replace(/^\d{3}/, "999")), objectYaml(record));
  }
  let nodeFiles = 0;
  // The renderer checks the key's shape, so it gets a well-formed stand-in that is then redacted.
  const standIn = Buffer.alloc(32).toString("base64");
  const encryption = { provider: "secretbox" as const, name: "key1", secret: standIn };
  for (const node of spec.nodes) {
    for (const c of renderNode({ spec, node, encryption, ...(node.serverId ? { serverId: node.serverId } : {}) })) {
      for (const f of c.files) {
        const p = join(out, "nodes", node.name, f.path);
        mkdirSync(dirname(p), { recursive: true });
        const content = f.secret ? `${REDACTED}\n` : f.content.replaceAll(standIn, REDACTED);
        writeFileSync(p, content, { mode: f.secret ? 0o600 : 0o644 });
        nodeFiles++;
      }
    }
  }
  return { objects: objects.length + (objects.length > 0 ? 1 : 0), nodeFiles };
}

/** Adds `render`. */
export function registerRenderCommand(program: Command): void {
  program
    .command("render")
    .description("write every cluster object and node file yagura would apply, for review; needs no cluster")
    .argument("<env>", "environment name or inventory file")
    .requiredOption("--out <dir>", "directory to write into (created; a previous render there is replaced)")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura render example --out rendered/example\n" +
        "  yagura render prod --out /tmp/prod && git diff --no-index rendered/prod /tmp/prod\n\n" +
        "Writes <dir>/cluster/<rank>-<group>-<Kind>-[<namespace>-]<name>.yaml in apply order (the record of\n" +
        "managed objects last, as 999-…) and <dir>/nodes/<node>/<path on the node> for every component file.\n" +
        "Secrets are redacted: the application credential secret in cloud.conf, the Secret encryption key\n" +
        "and node files marked secret read REDACTED-by-yagura-render. Bundle sources are read and their\n" +
        "sha256 checked (a URL source is fetched).",
    )
    .action(async (env: string, opts: { out: string }) => {
      const spec = requireSpec(env, program.opts().inventoryDir);
      const out = resolve(opts.out);
      const s = await renderEnvironment(spec, spec.file, out, { outputsFile: program.opts().stackOutputs });
      console.log(`wrote ${s.objects} cluster objects and ${s.nodeFiles} node files to ${out}`);
    });
}
