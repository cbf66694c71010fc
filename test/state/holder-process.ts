/**
 * A yagura instance reduced to its state backend, for the hand-over test: takes the lead of env1 in
 * the store given by argv (url, ca, cert, key), starts an op record, prints `leading <token>
 * <record json>` and then waits to be killed, as a reconciler in the middle of an op would.
 */
import { openStateBackend } from "../../src/state/index.js";

const [url, ca, cert, key] = process.argv.slice(2);
const backend = openStateBackend("env1", url, { ca, cert, key });
const holder = await backend.acquire({ waitMs: 10_000 });
const rec = holder.records.start("etcd-start", ["node1"], "etcd-start");
await holder.records.fence!();
console.log(`leading ${holder.token} ${JSON.stringify(rec)}`);
setInterval(() => undefined, 60_000);
