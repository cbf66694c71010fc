/**
 * Renders every Kubernetes component a node runs, for its version: service definitions (turned
 * into runit scripts or systemd units by the node's supervisor), config files and kubeconfigs, each
 * with its hash, and one fingerprint per component for drift detection.
 */
import { posix } from "node:path";
import { NODE_PATHS } from "../../cluster/paths.js";
import { fingerprintFiles, sha256 } from "../../supervisor/fingerprint.js";
import { supervisorFor } from "../../supervisor/index.js";
import type { ManagedFile, ServiceDef } from "../../supervisor/types.js";
import type { Component } from "../artifacts.js";
import { renderApiserver } from "./apiserver.js";
import { renderContext, type ComponentRendering, type RenderInput } from "./context.js";
import { renderControllerManager, renderScheduler } from "./controlplane.js";
import { renderKubelet } from "./kubelet.js";
import { renderKubeProxy } from "./proxy.js";

export type { RenderInput, EncryptionKey, AuditOptions } from "./context.js";

/** A file with its hash. */
export type RenderedFile = ManagedFile & { readonly sha256: string };

/** One component as it should be on the node. */
export interface RenderedComponent {
  readonly name: Component;
  readonly service: ServiceDef;
  /** Supervisor files (run scripts or unit) then config files. */
  readonly files: readonly RenderedFile[];
  /** Changes with any flag or file of the component; stored next to it on the node. */
  readonly fingerprint: string;
}

/**
 * Components that report readiness to systemd (sd_notify), which the shared unit's Type=notify
 * waits for. The others get a drop-in with Type=simple, or systemd would kill them at its start
 * timeout.
 */
export const NOTIFIES_SYSTEMD: readonly Component[] = ["kube-apiserver", "kubelet"];

/** The systemd drop-in that makes a non-notifying component's unit Type=simple. */
export function simpleTypeDropIn(name: Component): ManagedFile {
  return {
    path: posix.join(NODE_PATHS.systemdDir, `${name}.service.d`, "10-yagura-type.conf"),
    content: `# Written by yagura: ${name} does not notify systemd when it is ready.\n[Service]\nType=simple\n`,
    mode: 0o644,
  };
}

const withHash = (f: ManagedFile): RenderedFile => ({ ...f, sha256: sha256(f.content) });

/** Every Kubernetes component of the node, control plane first. */
export function renderNode(input: RenderInput): RenderedComponent[] {
  const ctx = renderContext(input);
  const supervisor = supervisorFor(ctx.node);
  const parts: ComponentRendering[] = [];
  if (ctx.node.role === "control-plane")
    parts.push(renderApiserver(ctx), renderControllerManager(ctx), renderScheduler(ctx));
  parts.push(renderKubelet(ctx), renderKubeProxy(ctx));
  return parts.map((p) => {
    const name = p.service.name as Component;
    const unit = supervisor.render(p.service);
    if (supervisor.kind === "systemd" && !NOTIFIES_SYSTEMD.includes(name)) unit.push(simpleTypeDropIn(name));
    const files = [...unit, ...p.files].map(withHash);
    return { name, service: p.service, files, fingerprint: fingerprintFiles(files) };
  });
}
