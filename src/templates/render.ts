/**
 * Renders handlebars templates from `templates/`. Templates hold no logic: the caller computes a
 * typed view model. `strict: true` makes a missing field an error; `noEscape: true` because the
 * output is YAML, INI, shell units and JSON, never HTML.
 */
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";

/** Directory holding the project's templates. */
export const TEMPLATE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../templates");

const hb = Handlebars.create();
// JSON-encode a value: quoting for YAML/JSON scalars without logic in the template.
hb.registerHelper("json", (v: unknown) => JSON.stringify(v));

const cache = new Map<string, HandlebarsTemplateDelegate>();

/** Renders `templates/<name>` (e.g. `cloud-init/control-plane.yaml.hbs`) with the view model. */
export function renderTemplate(name: string, view: object): string {
  let tpl = cache.get(name);
  if (!tpl) {
    const text = readFileSync(join(TEMPLATE_DIR, name), "utf8");
    tpl = hb.compile(text, { strict: true, noEscape: true });
    cache.set(name, tpl);
  }
  try {
    return tpl(view);
  } catch (err) {
    throw new Error(`template ${name}: ${(err as Error).message}`);
  }
}
