/**
 * An apply reduced to its state backend, for the journal hand-over test: takes the lead of env1 in
 * the store given by argv (url, ca, cert, key), journals a plan whose first step is done and whose
 * second has started, prints `journaled <token> <applyId>` and then waits to be killed, as an apply
 * in the middle of a step would.
 */
import { journalWriter } from "../../src/rebuild/journal.js";
import { openStateBackend } from "../../src/state/index.js";

const [url, ca, cert, key] = process.argv.slice(2);
const backend = openStateBackend("env1", url, { ca, cert, key });
const holder = await backend.acquire({ waitMs: 10_000 });
const j = journalWriter(holder.journal, holder.token);
const applyId = await j.begin("sha-1", [
  { id: "1-etcd-leave-cp3", action: "etcd-leave", nodes: ["cp3"], why: "replace cp3" },
  { id: "2-reimage-cp3", action: "reimage", nodes: ["cp3"], why: "replace cp3" },
  { id: "3-reconcile-cp3", action: "reconcile", nodes: ["cp3"], why: "rejoin" },
]);
await j.step(applyId, "1-etcd-leave-cp3", "started");
await j.step(applyId, "1-etcd-leave-cp3", "done", "member cp3 removed");
await j.step(applyId, "2-reimage-cp3", "started");
console.log(`journaled ${holder.token} ${applyId}`);
setInterval(() => undefined, 60_000);
