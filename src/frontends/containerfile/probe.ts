/** What is at a path in a container so far, read as cheaply as the API allows. */
import type { Container } from "../../index.js";
import { LadingError } from "../../errors.js";

/**
 * "missing", "file" (a regular file) or "other" (a directory, or another
 * non-file), symlinks followed. Asks for the path as a file: that reads one
 * entry instead of listing a directory's subtree; the API answers NOT_FOUND
 * when nothing is there and INVALID_ARGUMENT when something other than a
 * regular file is. This evaluates the container's steps so far.
 */
export async function pathKind(c: Container, path: string): Promise<"missing" | "file" | "other"> {
  try {
    await c.file(path).size();
    return "file";
  } catch (err) {
    if (err instanceof LadingError && err.code === "NOT_FOUND") return "missing";
    if (err instanceof LadingError && err.code === "INVALID_ARGUMENT") return "other";
    throw err;
  }
}
