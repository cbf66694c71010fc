/** The PKI's public surface: the store, the etcd certificate set, and the renewal predicate. */
export { openPki, needsRenewal, CA_KINDS, DEFAULT_VALIDITY_DAYS } from "./store.js";
export type { CaKind, IssueRequest, IssuedCert, Pki } from "./store.js";
export { etcdMemberCerts, etcdAdminClient, ETCD_ADMIN_CN } from "./etcd.js";
export type { EtcdNode } from "./etcd.js";
export type { Usage } from "./x509.js";
