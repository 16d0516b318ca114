/**
 * A small OTLP/HTTP trace receiver on 127.0.0.1, as a collector would be:
 * POST /v1/traces with protobuf (decoded with the OpenTelemetry proto
 * definitions the exporter itself is generated from) or JSON. It keeps each
 * request's raw bytes (to grep for secrets) and its spans, flattened.
 */
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

interface ProtoType {
  decode(bytes: Uint8Array): unknown;
  toObject(msg: unknown, opts: Record<string, unknown>): OtlpRequest;
}
const generated = require("@opentelemetry/otlp-transformer/build/src/generated/root.js") as {
  opentelemetry: { proto: { collector: { trace: { v1: { ExportTraceServiceRequest: ProtoType } } } } };
};
const ExportTraceServiceRequest = generated.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: AnyValue }>;
  status?: { code?: number | string; message?: string };
  events?: Array<{ name: string; attributes?: Array<{ key: string; value: AnyValue }> }>;
}
export interface OtlpRequest {
  resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: AnyValue }> }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, string | number | boolean | undefined>;
  error?: string;
  events: Array<{ name: string; attributes: Record<string, string | number | boolean | undefined> }>;
  resource: Record<string, string | number | boolean | undefined>;
}

export interface OtlpReceiver {
  url: string;
  /** Each request: its content type, raw body, and decoded form. */
  requests: Array<{ contentType: string; body: Buffer; decoded: OtlpRequest }>;
  spans(): ReceivedSpan[];
  stop(): Promise<void>;
}

function value(v: AnyValue | undefined): string | number | boolean | undefined {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  return undefined;
}

export function attributeMap(list: Array<{ key: string; value: AnyValue }> | undefined): Record<string, string | number | boolean | undefined> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, value(a.value)]));
}

/** Spans of an OTLP request (JSON or decoded protobuf), ids as hex. */
export function flattenSpans(req: OtlpRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const resource = attributeMap(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const code = s.status?.code;
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? "",
          name: s.name,
          attributes: attributeMap(s.attributes),
          ...(code === 2 || code === "STATUS_CODE_ERROR" ? { error: s.status?.message ?? "" } : {}),
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributeMap(e.attributes) })),
          resource,
        });
      }
    }
  }
  return out;
}

function decode(contentType: string, body: Buffer): OtlpRequest {
  if (contentType.startsWith("application/json")) return JSON.parse(body.toString("utf8")) as OtlpRequest;
  if (contentType.startsWith("application/x-protobuf")) {
    const msg = ExportTraceServiceRequest.decode(body);
    // bytes as hex: trace and span ids read as in OTLP/JSON.
    const obj = ExportTraceServiceRequest.toObject(msg, { longs: String, enums: Number, bytes: Array, defaults: false });
    const hex = (b: unknown) => (Array.isArray(b) ? Buffer.from(b as number[]).toString("hex") : (b as string | undefined));
    for (const rs of obj.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) {
      s.traceId = hex(s.traceId)!;
      s.spanId = hex(s.spanId)!;
      s.parentSpanId = hex(s.parentSpanId);
    }
    return obj;
  }
  throw new Error(`unexpected content-type ${contentType}`);
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const requests: OtlpReceiver["requests"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const contentType = String(req.headers["content-type"] ?? "");
      const body = Buffer.concat(chunks);
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      try {
        requests.push({ contentType, body, decoded: decode(contentType, body) });
      } catch (err) {
        res.writeHead(400, { "content-type": "text/plain" }).end(String(err));
        return;
      }
      // An empty ExportTraceServiceResponse in the request's own encoding.
      if (contentType.startsWith("application/json")) res.writeHead(200, { "content-type": "application/json" }).end("{}");
      else res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const addr = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    spans: () => requests.flatMap((r) => flattenSpans(r.decoded)),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
