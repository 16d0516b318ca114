/**
 * What a step needs of the evaluator that runs it: the session, the values
 * of other nodes, and once-per-key work. Steps take this interface, so the
 * evaluator can import them while they never import it back.
 */
import type { ImageState } from "./image-state.js";
import type { ContainerNode, DirectoryNode, FileNode } from "./ops.js";
import type { Session } from "./session.js";
import type { Tree, TreeEntry } from "./tree.js";

export type FileValue = TreeEntry & { name: string };

export interface StepContext {
  readonly session: Session;
  container(node: ContainerNode): Promise<ImageState>;
  directory(node: DirectoryNode): Promise<Tree>;
  file(node: FileNode): Promise<FileValue>;
  /** Runs `fn` once per key while it is in flight (and remembers its result for this evaluation). */
  once<T>(key: string, fn: () => Promise<T>): Promise<T>;
}
