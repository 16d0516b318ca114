/** Where the module fixtures are (fixtures/modules), seen from dist/test/modules. */
import { cpSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const MODULES = fileURLToPath(new URL("../../../fixtures/modules/", import.meta.url));

export function fixture(name: string): string {
  return join(MODULES, name);
}

/** A copy of a fixture module to change (its lading.json, its code) without touching the repository. */
export function copyFixture(name: string, to: string): string {
  cpSync(fixture(name), to, { recursive: true });
  return to;
}
