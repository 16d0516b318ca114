import { parseReference, formatReference } from "../registry/reference.js";

/**
 * The name an image is kept under in the store: the normalised reference
 * (`myapp` → `docker.io/library/myapp:latest`) when the string is one, so
 * `-t myapp` and `FROM myapp:latest` meet; the string itself otherwise.
 */
export function storeName(name: string): string {
  try {
    const r = parseReference(name);
    return formatReference(r.digest ? r : { ...r, tag: r.tag ?? "latest" });
  } catch {
    return name;
  }
}
