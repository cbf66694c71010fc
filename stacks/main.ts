/** The CDKTF app (`cdktf synth`, `cdktf deploy <env>`): one stack per OpenStack environment. */
import { synthApp } from "./app.js";
import { InventoryInvalidError, SchemaMismatchError } from "./errors.js";

try {
  synthApp();
} catch (err) {
  if (!(err instanceof InventoryInvalidError || err instanceof SchemaMismatchError)) throw err;
  console.error(err.message);
  process.exit(1);
}
