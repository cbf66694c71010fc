/**
 * The operator's admin kubeconfig: a fresh client certificate (O system:masters, one day) from
 * the environment's Kubernetes CA, embedded with the CA into a kubeconfig written 0600 into the
 * environment's state. A person gets a credential that ages out fast; the reconciler keeps its own.
 */
import type { ClusterSpec } from "../cluster/spec.js";
import { writeFileAtomic } from "../pki/files.js";
import type { Pki } from "../pki/index.js";
import { ADMIN_VALIDITY_DAYS } from "./certs.js";
import { externalApiUrl } from "./desired.js";
import { renderAdminKubeconfig } from "./render/kubeconfig.js";

/** PKI file stem of the certificate handed out in admin kubeconfigs (separate from yagura's own). */
export const KUBECONFIG_ADMIN_CERT = "kubeconfig-admin";

/** Issues a fresh admin certificate and writes the kubeconfig to `path` (0600); returns the server URL. */
export async function writeAdminKubeconfig(
  spec: ClusterSpec,
  pki: Pki,
  path: string,
  now: Date,
  o: { readonly apiEndpoint?: string; readonly validityDays?: number } = {},
): Promise<{ server: string; notAfterDays: number }> {
  const validityDays = Math.min(o.validityDays ?? ADMIN_VALIDITY_DAYS, ADMIN_VALIDITY_DAYS);
  const cert = await pki.issue(
    "kubernetes",
    {
      name: KUBECONFIG_ADMIN_CERT,
      commonName: "yagura-admin",
      organization: "system:masters",
      dnsNames: [],
      ipAddresses: [],
      usages: ["client"],
      validityDays,
    },
    now,
  );
  const server = externalApiUrl(spec, o.apiEndpoint);
  const text = renderAdminKubeconfig({
    clusterName: spec.inventory.cluster.name,
    server,
    caPem: cert.caPem,
    certPem: cert.certPem,
    keyPem: cert.keyPem,
  });
  await writeFileAtomic(path, text, 0o600);
  return { server, notAfterDays: validityDays };
}
