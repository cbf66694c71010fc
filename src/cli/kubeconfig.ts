/** `yagura kubeconfig ENV`: writes an admin kubeconfig with a fresh one-day certificate and prints its path. */
import { mkdirSync } from "node:fs";
import type { Command } from "commander";
import { requireClusterSpec } from "./inventory.js";

/** Registers `kubeconfig`. */
export function registerKubeconfigCommand(program: Command): void {
  program
    .command("kubeconfig")
    .description("write an admin kubeconfig (client certificate valid one day) and print its path")
    .argument("<env>", "environment name or inventory file")
    .addHelpText(
      "after",
      "\nExample:\n  export KUBECONFIG=$(yagura kubeconfig lab) && kubectl get nodes\n\n" +
        "The file is written 0600 under the environment's state (.yagura/<env>/admin.kubeconfig);\n" +
        "run the command again for a fresh certificate once it has expired.",
    )
    .action(async (env: string) => {
      // The PKI and session libraries load with the action, not with every command (scripts/build.mjs).
      const [{ writeAdminKubeconfig }, { openPki }, { session }] = await Promise.all([
        import("../k8s/admin-kubeconfig.js"),
        import("../pki/index.js"),
        import("../run/session.js"),
      ]);
      const s = requireClusterSpec(env, {
        inventoryDir: program.opts().inventoryDir,
        stackOutputs: program.opts().stackOutputs,
      });
      const { paths } = session(s);
      mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
      await writeAdminKubeconfig(
        s,
        openPki(paths.pkiDir),
        paths.kubeconfig,
        new Date(),
        s.apiEndpoint !== undefined ? { apiEndpoint: s.apiEndpoint } : {},
      );
      console.log(paths.kubeconfig);
    });
}
