/**
 * The shareable trace file: one HTML page holding the trace as OTLP/JSON
 * and a small viewer (waterfall, logs, errors, totals). Nothing in it
 * refers outside the page — no script, style, font or image by URL — so it
 * opens offline and makes no request, wherever it is attached.
 */
import { VIEWER_CSS, VIEWER_SCRIPT } from "./viewer.js";

/**
 * Trace data made safe to sit inside a <script> element and free of URLs:
 * `<` and `/` become JSON escapes (`\u003c`, `\/`), which JSON.parse turns
 * back into the same text, so a log line that prints `https://…` or
 * `</script>` is shown, never followed or parsed as markup.
 */
export function embedJson(json: string): string {
  return json.replace(/</g, "\\u003c").replace(/\//g, "\\/");
}

export function renderTraceHtml(otlpJson: string, title = "lading trace"): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${VIEWER_CSS}</style>
</head>
<body>
<noscript>This trace needs JavaScript to draw its waterfall; the data is OTLP/JSON in the element #trace-data.</noscript>
<script type="application/json" id="trace-data">${embedJson(otlpJson)}</script>
<script>${VIEWER_SCRIPT}</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}
