/**
 * `lading trace view FILE`: serves a trace page on 127.0.0.1 (never on
 * another interface: a trace holds build logs). An OTLP/JSON file is turned
 * into the same self-contained page `--trace-file X.html` writes.
 */
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { traceHtml } from "../../index.js";
import { UsageError, type CliIO } from "../io.js";

export async function viewTrace(file: string, opts: { port: string }, io: CliIO): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${opts.port}: give a port number (0 for any free one)`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new UsageError(`cannot read trace file ${file}: ${(err as Error).message}`);
  }
  const page = /^\s*</.test(text) ? text : await pageOf(text, file);
  const server = createServer((req, res) => {
    if (req.method !== "GET" || (req.url !== "/" && req.url !== "/index.html")) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" }).end(page);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new UsageError(`cannot listen on 127.0.0.1:${port}: ${err.message}`)));
    server.listen(port, "127.0.0.1", resolve);
  });
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : port}/`;
  io.stdout.write(`${url}\n`);
  io.stderr.write(`serving ${file} at ${url} (Ctrl-C stops)\n`);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener("abort", () => resolve(), { once: true });
  });
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

async function pageOf(text: string, file: string): Promise<string> {
  let parsed: { resourceSpans?: unknown };
  try {
    parsed = JSON.parse(text) as { resourceSpans?: unknown };
  } catch (err) {
    throw new UsageError(`${file} is neither a trace page (.html) nor JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed.resourceSpans)) throw new UsageError(`${file} is JSON but not an OTLP trace (no resourceSpans): write one with --trace-file X.json`);
  return traceHtml(text);
}
