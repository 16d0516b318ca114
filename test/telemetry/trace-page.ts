/**
 * Reading a trace page (`--trace-file X.html`) as the tests check it: the
 * OTLP/JSON it embeds, that nothing in it would make a browser fetch, and
 * the waterfall rows Chromium's DOM shows after the page's scripts ran.
 */
import assert from "node:assert/strict";
import { flattenSpans, type OtlpRequest, type ReceivedSpan } from "../helpers/otlp-receiver.js";

const DATA = /<script type="application\/json" id="trace-data">([^<]*)<\/script>/;

/** The spans of the OTLP/JSON the page carries in its #trace-data element. */
export function pageSpans(text: string): ReceivedSpan[] {
  const m = DATA.exec(text);
  assert.ok(m, "the page has its #trace-data element");
  return flattenSpans(JSON.parse(m[1]!) as OtlpRequest);
}

/** The file names no URL and holds no markup or style that would fetch: it opens offline and leaks nothing by loading. */
export function assertOpensOffline(text: string): void {
  assert.ok(!/[a-z][a-z0-9+.-]*:\/\//i.test(text), "no URL of any scheme anywhere in the file, data included");
  assert.ok(!/(^|[^\\])\/\//.test(text), "no protocol-relative //host either");
  // The data is one JSON text inside a non-executed script element; the markup around it is what a browser would act on.
  const markup = text.replace(DATA, "");
  assert.notEqual(markup, text, "the trace data sits in its own element, with no '<' inside it");
  assert.ok(!/\s(src|href|action|poster|srcset)\s*=/i.test(markup), "no attribute that would fetch");
  assert.ok(!/url\(|@import/i.test(markup), "no style that would fetch");
}

function decodeEntities(s: string): string {
  return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");
}

/** Each waterfall row of the DOM: its classes and the step name it shows. */
export function rows(dom: string): Array<{ classes: string[]; name: string }> {
  const out: Array<{ classes: string[]; name: string }> = [];
  for (const m of dom.matchAll(/<div class="(row [^"]*)"[^>]*>.*?<span class="name">(.*?)<\/span>/g)) out.push({ classes: m[1]!.split(" "), name: decodeEntities(m[2]!) });
  return out;
}

/** Attributes that would make a browser fetch, on the DOM's elements (quoted attribute values read as values, as a parser does). */
export function fetchingAttributes(dom: string): string[] {
  const found: string[] = [];
  for (const tag of dom.matchAll(/<([a-z][a-z0-9-]*)((?:\s+[^\s=>"\/]+(?:="[^"]*")?)*)\s*\/?>/gi)) {
    for (const a of tag[2]!.matchAll(/\s([^\s=>"\/]+)(?:="[^"]*")?/g)) if (/^(src|href|srcset|poster|action|data)$/i.test(a[1]!)) found.push(`${tag[1]} ${a[1]}`);
  }
  return found;
}
