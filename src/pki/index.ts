/** The PKI's public surface: the store, the etcd certificate set, and the renewal predicate. */
export { openPki, needsRenewal, CA_KINDS, DEFAULT_VALIDITY_DAYS } from "./store.js";
export type { CaKind, IssueRequest, IssuedCert, Pki } from "./store.js";
export { etcdMemberCerts, etcdAdminClient, ETCD_ADMIN_CN } from "./etcd.js";
export type { EtcdNode } from "./etcd.js";
export type { Usage } from "./x509.js";
export { issuePlan, renewWindowMs } from "./k8s.js";
export type { IssuedSet, PlannedCert } from "./k8s.js";
export { ensureEncryptionKey, ENCRYPTION_KEY_FILE } from "./encryption.js";
export type { StoredEncryptionKey } from "./encryption.js";
