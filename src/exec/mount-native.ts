/**
 * The exec helper's mount(2) and umount2(2) (native/lading_mount.c, built
 * by npm install beside the native deflate). Without it (not built) the
 * helper runs util-linux's mount and umount, as it always did; the addon
 * saves their two spawns per exec, a few ms before every runtime start.
 */
import { constants } from "node:os";
import { loadNativeAddon } from "../fsutil/native-addon.js";

interface MountAddon {
  /** 0, or the errno. */
  mount(source: string, target: string, fstype: string, data: string): number;
  /** 0, or the errno; `detach`: MNT_DETACH. */
  umount(target: string, detach: boolean): number;
}

let addon: MountAddon | null | undefined;

/** The addon, or undefined when the tools are to be used. */
export function nativeMount(): MountAddon | undefined {
  // Not built (no compiler at install): mount and umount do the same.
  if (addon === undefined) addon = loadNativeAddon<MountAddon>("lading_mount") ?? null;
  return addon ?? undefined;
}

/** An errno as its name and what it means, as the tools would say it (`EINVAL`). */
export function errnoName(code: number): string {
  return Object.entries(constants.errno).find(([, n]) => n === code)?.[0] ?? `errno ${code}`;
}
