/**
 * The trace page's style and script, embedded as text (the page must not
 * load anything). Plain ES2020 for any current browser; it reads the
 * OTLP/JSON in #trace-data and draws: totals, a nested waterfall (zoom with
 * the buttons, ctrl+wheel, or a double-click on a row), and the selected
 * step's attributes, CPU figures, error and logs.
 * No template literals below (this is itself a raw template string), and
 * no line comments: the page must not hold a "//" (the test reads that as a
 * protocol-relative URL).
 */
export const VIEWER_CSS = String.raw`
body{font:13px/1.4 system-ui,sans-serif;margin:0;color:#1f2328;background:#fff}
header{padding:10px 16px;border-bottom:1px solid #d0d7de;background:#f6f8fa}
h1{font-size:16px;margin:0 0 4px}
.totals span{margin-right:18px;white-space:nowrap}
.totals b{font-weight:600}
.toolbar{padding:6px 16px;border-bottom:1px solid #d0d7de;display:flex;gap:6px;align-items:center}
.toolbar button{font:inherit;padding:2px 8px}
.legend i{display:inline-block;width:12px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
#waterfall{position:relative}
.axis{display:flex;height:18px;border-bottom:1px solid #d0d7de;font-size:11px;color:#57606a}
.axis .label{width:38%;flex:none}
.axis .ticks{position:relative;flex:1}
.axis .tick{position:absolute;top:2px;border-left:1px solid #d0d7de;padding-left:2px}
.row{display:flex;min-height:20px;border-bottom:1px solid #f0f0f0;cursor:pointer}
.row:hover{background:#f6f8fa}
.row.selected{background:#ddf4ff}
.row .label{width:38%;flex:none;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;padding:1px 6px 1px 0}
.row .toggle{display:inline-block;width:14px;color:#57606a}
.row .track{position:relative;flex:1;margin-right:8px}
.bar{position:absolute;top:4px;height:12px;min-width:2px;border-radius:2px;background:#2f81f7}
.row.cached .bar{background:repeating-linear-gradient(45deg,#afb8c1,#afb8c1 3px,#d0d7de 3px,#d0d7de 6px)}
.row.cached .name::after{content:" CACHED";color:#57606a;font-size:11px}
.row.failed{background:#ffebe9}
.row.failed .bar{background:#cf222e}
.row.failed .name{color:#cf222e;font-weight:600}
.row.span .bar{background:#8250df}
.row.detail .bar{background:#54aeff;height:8px;top:6px}
.row.detail .name{color:#57606a}
.row .err{color:#cf222e;font-size:11px;margin-left:6px}
.row .cpu{color:#9a6700;font-size:11px;margin-left:6px}
.bar-text{position:absolute;top:3px;font-size:11px;color:#57606a;white-space:nowrap;padding-left:4px}
#details{border-top:2px solid #d0d7de;padding:10px 16px}
#details h2{font-size:14px;margin:0 0 6px}
#details table{border-collapse:collapse;margin-bottom:8px}
#details td{padding:1px 10px 1px 0;vertical-align:top;font-family:ui-monospace,monospace;font-size:12px;word-break:break-all}
#details pre{background:#f6f8fa;border:1px solid #d0d7de;padding:6px;max-height:360px;overflow:auto;white-space:pre-wrap;font-size:12px}
#details .error{color:#cf222e;font-weight:600;white-space:pre-wrap}
.note{color:#9a6700;font-size:12px}
`;

export const VIEWER_SCRIPT = String.raw`
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("trace-data").textContent);
  function val(v) {
    if (!v) return undefined;
    if ("stringValue" in v) return v.stringValue;
    if ("intValue" in v) return Number(v.intValue);
    if ("doubleValue" in v) return Number(v.doubleValue);
    if ("boolValue" in v) return v.boolValue;
    if ("arrayValue" in v) return (v.arrayValue.values || []).map(val);
    return undefined;
  }
  function attrs(list) { var o = {}; (list || []).forEach(function (a) { o[a.key] = val(a.value); }); return o; }
  function ms(nanos) { return Number(nanos) / 1e6; }
  var spans = [], byId = {};
  (data.resourceSpans || []).forEach(function (rs) {
    (rs.scopeSpans || []).forEach(function (ss) {
      (ss.spans || []).forEach(function (s) {
        var a = attrs(s.attributes);
        var sp = { id: s.spanId, parent: s.parentSpanId || "", name: s.name, start: ms(s.startTimeUnixNano), end: ms(s.endTimeUnixNano), a: a,
          error: s.status && s.status.code === 2 ? (s.status.message || "error") : "", events: (s.events || []).map(function (e) { return { name: e.name, a: attrs(e.attributes) }; }),
          children: [], open: true, traceId: s.traceId };
        spans.push(sp); byId[sp.id] = sp;
      });
    });
  });
  var roots = [];
  spans.forEach(function (s) { var p = byId[s.parent]; if (p) p.children.push(s); else roots.push(s); });
  function sortTree(list) { list.sort(function (x, y) { return x.start - y.start; }); list.forEach(function (s) { sortTree(s.children); }); }
  sortTree(roots);
  spans.forEach(function (s) { if (s.a["lading.step.kind"] === "detail") s.open = false; });
  var t0 = Math.min.apply(null, spans.map(function (s) { return s.start; }).concat([Infinity]));
  var t1 = Math.max.apply(null, spans.map(function (s) { return s.end; }).concat([-Infinity]));
  if (!isFinite(t0)) { t0 = 0; t1 = 1; }
  if (t1 <= t0) t1 = t0 + 1;
  var view = { from: t0, to: t1 }, selected = null;

  function el(tag, cls, text) { var e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }
  function secs(x) { return x < 1 ? (x * 1000).toFixed(0) + " ms" : x.toFixed(x < 10 ? 2 : 1) + " s"; }
  function bytes(n) { if (!n) return "0 B"; var u = ["B", "KB", "MB", "GB", "TB"], i = 0; while (n >= 1000 && i < 4) { n /= 1000; i++; } return n.toFixed(i ? 1 : 0) + " " + u[i]; }
  function isSession(s) { return s.a["lading.session"] === true; }
  function cpuText(a) {
    var some = a["lading.cpu.pressure.some_seconds"], origin = a["lading.cpu.pressure.source"] || a["lading.cpu.source"];
    if (typeof some === "number") return "CPU pressure " + some.toFixed(2) + "s (" + (origin || "") + ")";
    var host = a["lading.cpu.host_pressure.some_seconds"];
    if (typeof host === "number") return "CPU pressure " + host.toFixed(2) + "s (host-wide)";
    return "";
  }

  var body = document.body;
  var header = el("header");
  var root = roots.filter(isSession)[0] || roots[0];
  header.appendChild(el("h1", "", (root ? root.name : "trace") + (root ? " \u2014 trace " + root.traceId : "")));
  var steps = spans.filter(function (s) { return !isSession(s) && !s.a["lading.step.kind"]; });
  var cached = steps.filter(function (s) { return s.a["lading.cache"] === "hit"; }).length;
  var failed = steps.filter(function (s) { return s.error; }).length;
  var cacheable = steps.filter(function (s) { return s.a["lading.cache"] !== undefined; }).length;
  var pulled = 0, pushed = 0;
  spans.forEach(function (s) { if (s.a["lading.step.kind"] === "detail") { pulled += s.a["lading.pull.bytes"] || 0; pushed += s.a["lading.push.bytes"] || 0; } });
  var totals = el("div", "totals");
  [["time", secs((t1 - t0) / 1000)], ["steps", String(steps.length)], ["cached", String(cached)], ["failed", String(failed)],
   ["cache hit ratio", cacheable ? Math.round(100 * cached / cacheable) + "%" : "\u2013"], ["pulled", bytes(pulled)], ["pushed", bytes(pushed)]].forEach(function (kv) {
    var s = el("span"); s.appendChild(document.createTextNode(kv[0] + ": ")); s.appendChild(el("b", "total-" + kv[0].replace(/ /g, "-"), kv[1])); totals.appendChild(s);
  });
  header.appendChild(totals);
  body.appendChild(header);

  var toolbar = el("div", "toolbar");
  function button(label, fn) { var b = el("button", "", label); b.type = "button"; b.addEventListener("click", fn); toolbar.appendChild(b); }
  function zoom(f, center) {
    var c = center === undefined ? (view.from + view.to) / 2 : center, w = (view.to - view.from) * f;
    w = Math.max(w, 0.5); view.from = Math.max(t0, c - w / 2); view.to = Math.min(t1, view.from + w); draw();
  }
  button("Zoom in", function () { zoom(0.5); });
  button("Zoom out", function () { zoom(2); });
  button("Reset", function () { view.from = t0; view.to = t1; draw(); });
  button("Expand all", function () { spans.forEach(function (s) { s.open = true; }); draw(); });
  var legend = el("span", "legend");
  [["#2f81f7", "work"], ["#afb8c1", "cached"], ["#cf222e", "failed"], ["#8250df", "phase"], ["#54aeff", "blob"]].forEach(function (l) {
    var i = el("i"); i.style.background = l[0]; legend.appendChild(i); legend.appendChild(document.createTextNode(l[1]));
  });
  toolbar.appendChild(legend);
  body.appendChild(toolbar);
  var wf = el("div"); wf.id = "waterfall"; body.appendChild(wf);
  var details = el("div"); details.id = "details"; body.appendChild(details);

  function pos(t) { return 100 * (t - view.from) / (view.to - view.from); }
  function draw() {
    wf.textContent = "";
    var axis = el("div", "axis"); axis.appendChild(el("div", "label", "step"));
    var ticks = el("div", "ticks");
    for (var i = 0; i < 5; i++) { var t = view.from + (view.to - view.from) * i / 5; var tk = el("div", "tick", secs((t - t0) / 1000)); tk.style.left = (i * 20) + "%"; ticks.appendChild(tk); }
    axis.appendChild(ticks); wf.appendChild(axis);
    roots.forEach(function (r) { row(r, 0); });
  }
  function row(s, depth) {
    var a = s.a, kind = a["lading.step.kind"];
    var r = el("div", "row step" + (s.error ? " failed" : "") + (a["lading.cache"] === "hit" ? " cached" : "") + (kind ? " " + kind : "") + (selected === s ? " selected" : ""));
    r.dataset.spanId = s.id; r.dataset.status = s.error ? "error" : a["lading.cache"] === "hit" ? "cached" : "ok";
    var label = el("div", "label"); label.style.paddingLeft = (depth * 14 + 4) + "px"; label.title = s.name;
    label.appendChild(el("span", "toggle", s.children.length ? (s.open ? "\u25be" : "\u25b8") : ""));
    label.appendChild(el("span", "name", s.name));
    var cpu = cpuText(a); if (cpu) label.appendChild(el("span", "cpu", cpu));
    if (s.error) label.appendChild(el("span", "err", s.error.split("\n")[0]));
    r.appendChild(label);
    var track = el("div", "track"), bar = el("div", "bar");
    var l = pos(s.start), w = pos(s.end) - l;
    bar.style.left = Math.max(0, l) + "%"; bar.style.width = Math.max(0, Math.min(100, l + w) - Math.max(0, l)) + "%";
    if (l + w >= 0 && l <= 100) track.appendChild(bar);
    var txt = el("span", "bar-text", secs((s.end - s.start) / 1000));
    /* The duration goes right of the bar, or left of it when the bar ends near the edge. */
    if (l + w > 85) { txt.style.left = Math.max(0, l) + "%"; txt.style.transform = "translateX(-100%)"; txt.style.paddingRight = "4px"; }
    else txt.style.left = Math.max(0, l + w) + "%";
    track.appendChild(txt);
    r.appendChild(track);
    r.addEventListener("click", function (ev) {
      if (ev.target && ev.target.className === "toggle") { s.open = !s.open; draw(); return; }
      selected = s; draw(); show(s);
    });
    r.addEventListener("dblclick", function () { view.from = s.start; view.to = Math.max(s.end, s.start + 0.5); draw(); });
    wf.appendChild(r);
    if (s.open) s.children.forEach(function (c) { row(c, depth + 1); });
  }
  wf.addEventListener("wheel", function (ev) {
    if (!ev.ctrlKey) return;
    ev.preventDefault();
    var rect = wf.getBoundingClientRect(), x = (ev.clientX - rect.left - rect.width * 0.38) / (rect.width * 0.62);
    zoom(ev.deltaY < 0 ? 0.8 : 1.25, view.from + Math.min(1, Math.max(0, x)) * (view.to - view.from));
  }, { passive: false });

  function show(s) {
    details.textContent = "";
    details.appendChild(el("h2", "", s.name));
    if (s.error) details.appendChild(el("div", "error", s.error));
    var table = el("table");
    function line(k, v) { var tr = el("tr"); tr.appendChild(el("td", "", k)); tr.appendChild(el("td", "", String(v))); table.appendChild(tr); }
    line("wall time", secs((s.end - s.start) / 1000));
    Object.keys(s.a).sort().forEach(function (k) { line(k, s.a[k]); });
    details.appendChild(table);
    s.events.filter(function (e) { return e.name === "log"; }).forEach(function (e) {
      details.appendChild(el("div", "", e.a["log.stream"]));
      if (e.a["log.truncated_chars"]) details.appendChild(el("div", "note", "truncated: the first " + e.a["log.truncated_chars"] + " characters of this log were cut; the end is kept"));
      details.appendChild(el("pre", "log", e.a["log.text"]));
    });
  }
  draw();
  var firstError = null;
  /* The step that failed (not the session around it) is shown first, with its error and logs. */
  (function find(list) { list.forEach(function (s) { if (!firstError && s.error && !isSession(s) && !s.children.some(function (c) { return c.error; })) firstError = s; find(s.children); }); })(roots);
  if (firstError) { selected = firstError; draw(); show(firstError); }
  document.documentElement.dataset.rendered = String(spans.length);
})();
`;
