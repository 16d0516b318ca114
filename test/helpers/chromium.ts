/**
 * Headless Chromium (Debian's `chromium`, from scripts/setup.sh) on a
 * local page: every run gets a fresh profile, and everything that phones
 * home (sync, component updates, background networking, QUIC) is off.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

export const CHROMIUM = "/usr/bin/chromium";

export function haveChromium(): boolean {
  return existsSync(CHROMIUM);
}

function runChromium(page: string, extra: string[]): { stdout: string; stderr: string } {
  const profile = mkdtempSync(join(tmpdir(), "lading-chromium-"));
  try {
    const args = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
      ...extra,
      pathToFileURL(page).href,
    ];
    const r = spawnSync(CHROMIUM, args, { encoding: "utf8", timeout: 120_000, maxBuffer: 64 << 20 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr}`);
    return { stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** The page's DOM after its scripts ran. */
export function dumpDom(page: string): string {
  return runChromium(page, ["--dump-dom"]).stdout;
}

/** A PNG of the page at this window size. */
export function screenshot(page: string, png: string, size = "1280,720"): void {
  runChromium(page, [`--screenshot=${png}`, `--window-size=${size}`, "--hide-scrollbars"]);
}
