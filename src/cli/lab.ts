/** `yagura lab up|down|status ENV`: the local lab of an environment's static nodes. */
import type { Command } from "commander";
import { labDown, labStatus, labUp, type LabNodeStatus } from "../lab/index.js";
import { requireSpec } from "./inventory.js";
import { OperationFailedError } from "./errors.js";

const say = (line: string) => console.log(line);

function statusLine(n: LabNodeStatus): string {
  const mark = (b: boolean) => (b ? "yes" : "NO ");
  const svc = n.services.map((s) => `${s.name}:${s.state}${s.pid ? `(${s.pid})` : ""}`).join(" ") || n.sshError || "-";
  return `${n.name.padEnd(12)} ${n.address.padEnd(15)} ${mark(n.netns)}   ${mark(n.pid1Alive)} ${String(n.pid1 ?? "-").padEnd(8)} ${mark(n.sshd)}  ${svc}`;
}

/** Adds the `lab` command group. */
export function registerLabCommands(program: Command): void {
  const lab = program
    .command("lab")
    .description(
      "run an environment's static nodes on this machine: one network namespace per node, with sshd and runit (needs root)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  yagura lab up lab\n  yagura lab status lab\n  ssh -F .yagura/lab/lab/ssh_config node1\n  yagura lab down lab",
    );

  lab
    .command("up")
    .description(
      "create (or bring up to date) the lab: bridge, one netns per static node, sshd under runit, pinned host keys",
    )
    .argument("<env>", "environment name or inventory file")
    .option("--no-wait", "return without waiting for every sshd to answer")
    .option("--no-prune", "keep lab nodes that are no longer in the inventory")
    .option("--no-pause-image", "do not build the pause image for containerd")
    .option("-j, --jobs <n>", "nodes created at once", "4")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura lab up lab                 # the five nodes of inventory/lab.yaml on ygbr0\n" +
        "  yagura lab up ./my-lab.yaml -j 8  # run it again after adding nodes: healthy ones are kept\n\n" +
        "The operator key is .yagura/<env>/ssh/id_ed25519, the pinned host keys .yagura/<env>/ssh/known_hosts.",
    )
    .action(async (env: string, o: { wait: boolean; prune: boolean; pauseImage: boolean; jobs: string }) => {
      const spec = requireSpec(env, program.opts().inventoryDir);
      const t0 = Date.now();
      const r = await labUp(spec, {
        onProgress: say,
        waitForSsh: o.wait,
        prune: o.prune,
        pauseImage: o.pauseImage,
        concurrency: Math.max(1, Number(o.jobs) || 4),
      });
      say(
        `lab ${spec.env} is up: ${r.nodes.length} node(s) (${r.created.length} created, ${r.restarted.length} restarted, ${r.kept.length} kept, ${r.removed.length} removed) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
      say(`  ssh -F ${r.sshConfig} ${r.nodes[0]?.name ?? "<node>"}`);
    });

  lab
    .command("down")
    .description("stop every lab node and remove every namespace, interface, cgroup and file the lab created")
    .argument("<env>", "environment name or inventory file")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura lab down lab\n  yagura lab down ./my-lab.yaml\n\nHarmless when the lab is not up.",
    )
    .action(async (env: string) => {
      const spec = requireSpec(env, program.opts().inventoryDir);
      const r = await labDown(spec.env, { onProgress: say });
      say(r.nodes.length ? `lab ${spec.env} is down (${r.nodes.length} node(s) removed)` : `lab ${spec.env} is not up`);
    });

  lab
    .command("status")
    .description("per node: netns present, PID 1 (runsvdir) alive, sshd answering, services under runit")
    .argument("<env>", "environment name or inventory file")
    .option("--json", "print JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  yagura lab status lab\n  yagura lab status lab --json | jq '.nodes[] | select(.sshd | not)'\n\nExit 3 when a node is not healthy.",
    )
    .action(async (env: string, o: { json?: boolean }) => {
      const spec = requireSpec(env, program.opts().inventoryDir);
      const st = await labStatus(spec.env);
      if (o.json) say(JSON.stringify(st, null, 2));
      else if (!st.up) say(`lab ${spec.env} is not up (yagura lab up ${env})`);
      else {
        say(`lab ${spec.env} on bridge ${st.bridge ?? "-"}`);
        say(`${"NODE".padEnd(12)} ${"ADDRESS".padEnd(15)} NETNS PID1 ${"PID".padEnd(8)} SSHD SERVICES`);
        for (const n of st.nodes) say(statusLine(n));
      }
      const bad = st.nodes.filter((n) => !n.netns || !n.pid1Alive || !n.sshd);
      if (bad.length > 0)
        throw new OperationFailedError(`${bad.length} lab node(s) not healthy: ${bad.map((n) => n.name).join(", ")}`);
    });
}
