/**
 * Injection safety. Inventory strings end up in unit files, kubeconfigs, command arguments and file
 * names on nodes. yagura quotes everything it passes to a shell, but the inventory is the trust
 * boundary: two rules refuse what no legitimate value needs.
 *  1. No string anywhere (values or keys) holds a control character, a line break or a
 *     bidirectional-text control: one visible line per value.
 *  2. Free-form fields that reach a shell or a file name on a node hold no shell metacharacters.
 *     Names, labels, taints, addresses and CIDRs are not listed: their Kubernetes/OpenStack syntax
 *     rules (names.ts, nodes.ts, network.ts) already allow none of these characters.
 */
import type { Finding, Rule } from "./index.js";
import type { Inventory } from "../schema.js";

type Path = (string | number)[];

/** C0 and C1 controls, DEL, line/paragraph separators and the bidi overrides used to disguise text. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point here
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

const CHAR_NAMES: Record<number, string> = {
  0x0a: "line feed",
  0x0d: "carriage return",
  0x09: "tab",
  0x00: "NUL",
  0x1b: "escape",
};

function describeChar(c: string): string {
  const cp = c.codePointAt(0)!;
  const hex = `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
  return CHAR_NAMES[cp] ? `${hex} ${CHAR_NAMES[cp]}` : hex;
}

/** Walks every string value and key; the schema bounds the depth, so recursion is safe here. */
function walk(v: unknown, path: Path, out: Finding[]): void {
  if (typeof v === "string") {
    const m = CONTROL.exec(v);
    if (m) {
      out.push({
        path,
        message: `value contains the control character ${describeChar(m[0])}: no inventory string may hold control characters, line breaks or bidirectional-text controls (safety rule 1); write it on one line (a YAML block scalar | or > adds a trailing newline; use a plain or quoted string)`,
      });
    }
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => walk(x, [...path, i], out));
  } else if (v !== null && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const m = CONTROL.exec(k);
      if (m) {
        out.push({
          path: [...path, k],
          message: `key ${JSON.stringify(k)} contains the control character ${describeChar(m[0])}: no inventory key may hold control characters (safety rule 1); retype the key`,
        });
      }
      walk(x, [...path, k], out);
    }
  }
}

const noControlCharacters: Rule = (inv) => {
  const out: Finding[] = [];
  walk(inv, [], out);
  return out;
};

/** A free-form field: `spaces` when OpenStack allows inner spaces (image "Ubuntu 24.04"), `required` when empty is meaningless. */
interface Field {
  path: Path;
  value: string | undefined;
  what: string;
  spaces?: boolean;
  required?: boolean;
}

/** Every free-form string field that reaches the cloud API, a shell or a file name on a node. */
function freeFormFields(inv: Inventory): Field[] {
  // Versions are not listed: kubernetes.ts and artifacts.ts hold them to a release-number syntax.
  const f: Field[] = [];
  inv.nodePools.forEach((p, i) => {
    const b = ["nodePools", i];
    f.push({ path: [...b, "flavor"], value: p.flavor, what: "flavor", spaces: true, required: true });
    f.push({ path: [...b, "image"], value: p.image, what: "image", spaces: true, required: true });
    p.availabilityZones.forEach((z, j) =>
      f.push({ path: [...b, "availabilityZones", j], value: z, what: "availability zone", required: true }),
    );
    p.racks.forEach((r, j) => f.push({ path: [...b, "racks", j], value: r, what: "rack", required: true }));
    f.push({
      path: [...b, "volumes", "etcd", "type"],
      value: p.volumes.etcd?.type,
      what: "volume type",
      spaces: true,
      required: true,
    });
    f.push({
      path: [...b, "volumes", "bootFromVolume", "type"],
      value: p.volumes.bootFromVolume?.type,
      what: "volume type",
      spaces: true,
      required: true,
    });
    f.push({ path: [...b, "rebuildToken"], value: p.rebuildToken, what: "rebuild token" });
    for (const [k, t] of Object.entries(p.rebuildTokens))
      f.push({ path: [...b, "rebuildTokens", k], value: t, what: "rebuild token" });
  });
  inv.staticNodes.forEach((s, i) => {
    f.push({ path: ["staticNodes", i, "zone"], value: s.zone, what: "zone", required: true });
    f.push({ path: ["staticNodes", i, "rack"], value: s.rack, what: "rack", required: true });
  });
  const os = inv.openstack;
  if (os) {
    f.push({ path: ["openstack", "cloud"], value: os.cloud, what: "cloud name", required: true });
    f.push({ path: ["openstack", "region"], value: os.region, what: "region", required: true });
    f.push({
      path: ["openstack", "externalNetwork"],
      value: os.externalNetwork,
      what: "external network",
      spaces: true,
      required: true,
    });
    f.push({
      path: ["openstack", "network", "existingNetwork"],
      value: os.network.existingNetwork,
      what: "network name",
      spaces: true,
      required: true,
    });
    f.push({
      path: ["openstack", "network", "existingSubnet"],
      value: os.network.existingSubnet,
      what: "subnet name",
      spaces: true,
      required: true,
    });
  }
  const k = inv.keystone;
  if (k) {
    f.push({
      path: ["keystone", "project", "name"],
      value: k.project.name,
      what: "project name",
      spaces: true,
      required: true,
    });
    f.push({
      path: ["keystone", "project", "domain"],
      value: k.project.domain,
      what: "domain",
      spaces: true,
      required: true,
    });
    k.auth.projectNamespaces.forEach((m, i) =>
      f.push({
        path: ["keystone", "auth", "projectNamespaces", i, "project"],
        value: m.project,
        what: "project name",
        spaces: true,
        required: true,
      }),
    );
    k.auth.roleMappings.forEach((m, i) => {
      f.push({
        path: ["keystone", "auth", "roleMappings", i, "role"],
        value: m.role,
        what: "Keystone role",
        required: true,
      });
      f.push({
        path: ["keystone", "auth", "roleMappings", i, "clusterRole"],
        value: m.clusterRole,
        what: "ClusterRole name",
        required: true,
      });
    });
  }
  (inv.storage.cinder?.storageClasses ?? []).forEach((c, i) => {
    f.push({
      path: ["storage", "cinder", "storageClasses", i, "volumeType"],
      value: c.volumeType,
      what: "volume type",
      spaces: true,
      required: true,
    });
    f.push({
      path: ["storage", "cinder", "storageClasses", i, "availabilityZone"],
      value: c.availabilityZone,
      what: "availability zone",
      required: true,
    });
  });
  if (inv.storage.nfs)
    f.push({ path: ["storage", "nfs", "path"], value: inv.storage.nfs.path, what: "NFS path", required: true });
  const a = inv.artifacts;
  f.push({ path: ["artifacts", "localDir"], value: a.localDir, what: "path", required: true });
  f.push({ path: ["artifacts", "mirrorUrl"], value: a.mirrorUrl, what: "URL", required: true });
  f.push({ path: ["artifacts", "installDir"], value: a.installDir, what: "path", required: true });
  f.push({ path: ["ssh", "privateKeyFile"], value: inv.ssh.privateKeyFile, what: "path", required: true });
  f.push({ path: ["reconciler", "backup", "dir"], value: inv.reconciler.backup.dir, what: "path", required: true });
  return f;
}

const METACHARS = /[`$;&|<>()\\"']/;

const noShellMetacharacters: Rule = (inv) => {
  const out: Finding[] = [];
  for (const f of freeFormFields(inv)) {
    const v = f.value;
    if (v === undefined || CONTROL.test(v)) continue;
    if (v.trim() === "") {
      if (f.required || v !== "")
        out.push({ path: f.path, message: `${f.what} is empty: give a value or remove the field` });
      continue;
    }
    const m = METACHARS.exec(v);
    if (m) {
      out.push({
        path: f.path,
        message: `${f.what} ${JSON.stringify(v)} contains the shell metacharacter ${m[0]}: fields that reach a command line or a file name on a node may not hold \` $ ; & | < > ( ) \\ " ' (safety rule 2); no ${f.what} needs one, so remove it`,
      });
    } else if (f.spaces ? v !== v.trim() : /\s/.test(v)) {
      out.push({
        path: f.path,
        message: f.spaces
          ? `${f.what} ${JSON.stringify(v)} starts or ends with whitespace (safety rule 2): remove it`
          : `${f.what} ${JSON.stringify(v)} contains whitespace, which this field may not hold (safety rule 2): remove the spaces`,
      });
    }
  }
  return out;
};

/** Fields with their own narrow syntax because they become a login name or an interface name. */
const accessNames: Rule = (inv) => {
  const out: Finding[] = [];
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(inv.ssh.user)) {
    out.push({
      path: ["ssh", "user"],
      message: `ssh user ${JSON.stringify(inv.ssh.user)} is not a valid login name: use 1–32 lower-case letters, digits, '_' and '-', starting with a letter or '_' (e.g. root, ubuntu)`,
    });
  }
  if (
    inv.lab &&
    (!/^[A-Za-z0-9_.-]{1,15}$/.test(inv.lab.bridge) || inv.lab.bridge === "." || inv.lab.bridge === "..")
  ) {
    out.push({
      path: ["lab", "bridge"],
      message: `bridge ${JSON.stringify(inv.lab.bridge)} is not a Linux interface name: use 1–15 letters, digits, '_', '.' or '-', e.g. ygbr0`,
    });
  }
  return out;
};

/** The injection-safety rules. */
export const safetyRules: readonly Rule[] = [noControlCharacters, noShellMetacharacters, accessNames];
