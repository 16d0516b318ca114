/**
 * Opens, with a blocking call, a file that a walk listed as a regular file.
 * A symlink put in its place since is not followed (it could point
 * anywhere on the host), and a FIFO does not block the open (its reads then
 * come up short or fail). Callers hashing a build context and the tar
 * writer reading it open files the same way, so both see the same bytes.
 */
import { constants, openSync } from "node:fs";

export function openListedFile(path: string): number {
  return openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
}
