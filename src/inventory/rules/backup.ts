/**
 * Backup upload rules: an S3 endpoint that is a URL (https, or http only on this machine's
 * loopback, since SigV4 signs but does not encrypt), a bucket name S3 accepts, a plain key prefix,
 * and credentials named by environment variable, never written in the inventory.
 */
import type { Finding, Rule } from "./index.js";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// S3's bucket rules: 3–63 characters, lowercase letters, digits, dots and hyphens, letter or digit at both ends.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

const upload: Rule = (inv) => {
  const u = inv.reconciler.backup.upload;
  if (!u) return [];
  const at = (k: string) => ["reconciler", "backup", "upload", k];
  const out: Finding[] = [];
  let url: URL | undefined;
  try {
    url = new URL(u.endpoint);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.username || url.password || url.search || url.hash) {
    out.push({
      path: at("endpoint"),
      message: `endpoint ${JSON.stringify(u.endpoint)} is not a plain http(s) URL such as https://object-store.example.com (no user, query or fragment: credentials come from accessKeyIdEnv/secretAccessKeyEnv)`,
    });
  } else if (url.protocol === "http:" && !LOOPBACK.has(url.hostname)) {
    out.push({
      path: at("endpoint"),
      message: `endpoint ${u.endpoint} is plain http: snapshots hold every Secret of the cluster; use https (http is accepted only on 127.0.0.1/localhost)`,
    });
  }
  if (!BUCKET.test(u.bucket) || u.bucket.includes(".."))
    out.push({
      path: at("bucket"),
      message: `bucket ${JSON.stringify(u.bucket)} is not a valid S3 bucket name: 3–63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit`,
    });
  if (u.prefix.startsWith("/") || u.prefix.split("/").includes("..") || !/^[A-Za-z0-9._/-]*$/.test(u.prefix))
    out.push({
      path: at("prefix"),
      message: `prefix ${JSON.stringify(u.prefix)} must be a relative key prefix of letters, digits, ".", "_", "-" and "/" (no leading "/", no ".."), e.g. prod/`,
    });
  for (const k of ["accessKeyIdEnv", "secretAccessKeyEnv"] as const)
    if (!ENV_NAME.test(u[k]))
      out.push({
        path: at(k),
        message: `${k} must name an environment variable (letters, digits, _), not hold a credential: got a value of ${u[k].length} characters`,
      });
  if (!/^[a-z0-9-]{1,64}$/i.test(u.region))
    out.push({
      path: at("region"),
      message: `region ${JSON.stringify(u.region)} is not a region name such as us-east-1 or RegionOne`,
    });
  return out;
};

/** Every backup rule. */
export const backupRules: readonly Rule[] = [upload];
