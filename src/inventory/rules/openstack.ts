/** OpenStack and Keystone rules: one way to get a network, a usable SSH key, keystone tied to a cloud. */
import type { Finding, Rule } from "./index.js";
import { isHttpUrl } from "./syntax.js";

const network: Rule = (inv) => {
  const n = inv.openstack?.network;
  if (!n) return [];
  const base = ["openstack", "network"];
  if (n.cidr !== undefined && n.existingNetwork !== undefined) {
    return [
      {
        path: [...base, "existingNetwork"],
        message:
          "network has both cidr and existingNetwork: give cidr to have the stack create a network, or existingNetwork plus existingSubnet to use one that exists, not both",
      },
    ];
  }
  if (n.cidr === undefined && n.existingNetwork === undefined) {
    return [
      {
        path: base,
        message:
          "network needs either cidr (the stack creates a network and subnet) or existingNetwork plus existingSubnet (use ones that exist): add one of them",
      },
    ];
  }
  if (n.existingNetwork !== undefined && n.existingSubnet === undefined) {
    return [
      {
        path: [...base, "existingNetwork"],
        message:
          "existingNetwork needs existingSubnet too: a network can hold several subnets, and the nodes' fixed addresses must come from a known one; name it",
      },
    ];
  }
  if (n.existingSubnet !== undefined && n.existingNetwork === undefined) {
    return [
      {
        path: [...base, "existingSubnet"],
        message: "existingSubnet is only used with existingNetwork: add existingNetwork or remove existingSubnet",
      },
    ];
  }
  return [];
};

/** OpenSSH public key types and how many length-prefixed fields their blob holds (RFC 4253, 5656, PROTOCOL.u2f). */
const KEY_FIELDS: Record<string, number> = {
  "ssh-ed25519": 2,
  "ssh-rsa": 3,
  "ecdsa-sha2-nistp256": 3,
  "ecdsa-sha2-nistp384": 3,
  "ecdsa-sha2-nistp521": 3,
  "sk-ssh-ed25519@openssh.com": 3,
  "sk-ecdsa-sha2-nistp256@openssh.com": 4,
};
const KEY_TYPES = Object.keys(KEY_FIELDS);

/** Splits an SSH wire-format blob into its length-prefixed fields; undefined when a length overruns. */
function sshFields(blob: Buffer): Buffer[] | undefined {
  const out: Buffer[] = [];
  let at = 0;
  while (at < blob.length) {
    if (at + 4 > blob.length) return undefined;
    const len = blob.readUInt32BE(at);
    if (at + 4 + len > blob.length) return undefined;
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

/** Why `key` is not an OpenSSH public key line, or undefined. */
export function sshPublicKeyProblem(key: string): string | undefined {
  if (/PRIVATE KEY/.test(key))
    return "this is a PRIVATE key: never put it in the inventory; paste the one-line contents of the matching .pub file instead";
  const parts = key.split(" ");
  const [type, data] = parts;
  if (type === undefined || !KEY_TYPES.includes(type)) {
    return `it must start with a key type (${KEY_TYPES.slice(0, 3).join(", ")} …), then a space and the base64 key: paste the one-line contents of a .pub file such as ~/.ssh/id_ed25519.pub`;
  }
  if (data === undefined || data.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) {
    return "the part after the key type is not base64 (the key may be truncated or wrapped): paste the whole .pub line again";
  }
  // The blob repeats the key type and has a fixed number of fields; anything else is a mangled key.
  const fields = sshFields(Buffer.from(data, "base64"));
  if (!fields || fields[0]?.toString("latin1") !== type || fields.length !== KEY_FIELDS[type]) {
    return `the base64 data is not a ${type} key (the key may be truncated or its type changed): paste the whole .pub line again`;
  }
  return undefined;
}

const openstackFields: Rule = (inv) => {
  const os = inv.openstack;
  if (!os) return [];
  const out: Finding[] = [];
  const p = sshPublicKeyProblem(os.sshPublicKey);
  if (p) out.push({ path: ["openstack", "sshPublicKey"], message: `sshPublicKey is not an OpenSSH public key: ${p}` });
  if (os.apiEndpoint.floatingIp && os.apiEndpoint.type !== "loadbalancer") {
    out.push({
      path: ["openstack", "apiEndpoint", "floatingIp"],
      message:
        "floatingIp needs apiEndpoint.type: loadbalancer: with local-proxy there is no load balancer to attach it to; set type: loadbalancer or remove floatingIp",
    });
  }
  // The security groups refuse a world-open SSH or API; say so here, with a line, before synth does.
  if (os.operatorCidr.endsWith("/0")) {
    out.push({
      path: ["openstack", "operatorCidr"],
      message: `operatorCidr ${os.operatorCidr} opens SSH to every address: name the operators' network, e.g. 203.0.113.0/24`,
    });
  }
  os.apiEndpoint.allowedCidrs.forEach((c, i) => {
    if (c.endsWith("/0")) {
      out.push({
        path: ["openstack", "apiEndpoint", "allowedCidrs", i],
        message: `allowedCidrs entry ${c} opens the Kubernetes API to every address: list the networks that need it`,
      });
    }
  });
  if (os.authUrl !== undefined && !isHttpUrl(os.authUrl)) {
    out.push({
      path: ["openstack", "authUrl"],
      message: `authUrl ${JSON.stringify(os.authUrl)} is not an http(s) URL: write the Keystone endpoint, e.g. https://keystone.example.com:5000/v3`,
    });
  }
  return out;
};

const keystone: Rule = (inv) => {
  const k = inv.keystone;
  if (!k) return [];
  const out: Finding[] = [];
  if (!inv.openstack) {
    out.push({
      path: ["keystone"],
      message:
        "the keystone section creates a project and application credentials in an OpenStack cloud, but there is no openstack section: add one or remove keystone",
    });
  }
  k.applicationCredentials.forEach((c, i) => {
    if (k.applicationCredentials.indexOf(c) !== i) {
      out.push({
        path: ["keystone", "applicationCredentials", i],
        message: `application credential ${c} is listed twice: list each integration once`,
      });
    }
  });
  const seen = new Map<string, string>();
  k.auth.projectNamespaces.forEach((m, i) => {
    const prev = seen.get(m.namespace);
    if (prev !== undefined && prev !== m.project) {
      out.push({
        path: ["keystone", "auth", "projectNamespaces", i, "namespace"],
        message: `namespace ${JSON.stringify(m.namespace)} is mapped from project ${JSON.stringify(prev)} and from ${JSON.stringify(m.project)}: members of both would share it; map each namespace from one project`,
      });
    }
    seen.set(m.namespace, m.project);
  });
  if (!k.auth.enabled && (k.auth.projectNamespaces.length > 0 || k.auth.roleMappings.length > 0)) {
    out.push({
      path: ["keystone", "auth", "enabled"],
      message:
        "keystone.auth has projectNamespaces or roleMappings but enabled is false, so they would be ignored: set enabled: true or remove them",
    });
  }
  if (inv.storage.cinder && !k.applicationCredentials.includes("cinder-csi")) {
    out.push({
      path: ["keystone", "applicationCredentials"],
      message:
        "storage.cinder needs the cinder-csi application credential, which is not listed: add cinder-csi to applicationCredentials",
    });
  }
  return out;
};

/** Rules for the openstack and keystone sections. */
export const openstackRules: readonly Rule[] = [network, openstackFields, keystone];
