/**
 * The Docker token flow (distribution-rules §9): GET `<realm>?service&scope…`
 * with Basic credentials (or none, anonymously), or the OAuth2 POST with a
 * refresh token when the stored credential is an identity token
 * (`<token>` username). Errors never carry the credential or the token.
 */
import { LadingError } from "../../errors.js";
import type { Challenge } from "./challenge.js";
import type { Credential } from "./credentials.js";
import { redactUrl } from "../transport/base.js";
import { discard, type HttpResponse, type RoundTrip } from "../transport/types.js";

export interface Token {
  token: string;
  /** ms since epoch, with a margin, after which the token is not used again. */
  expiresAt: number;
}

const CLIENT_ID = "lading";
const MAX_TOKEN_BODY = 1 << 20;

export async function fetchToken(rt: RoundTrip, challenge: Challenge, scopes: readonly string[], cred: Credential | undefined, signal?: AbortSignal): Promise<Token> {
  const realm = challenge.params.realm;
  if (!realm) throw new LadingError("AUTH", "the registry sent a Bearer challenge without a realm; it cannot be authenticated against");
  let realmUrl: URL;
  try {
    realmUrl = new URL(realm);
  } catch {
    throw new LadingError("AUTH", `the registry's token realm ${JSON.stringify(realm)} is not a URL`);
  }
  const service = challenge.params.service;
  if (cred?.username === "<token>") {
    const res = await postRefresh(rt, realmUrl, service, scopes, cred.secret, signal);
    if (res.statusCode !== 404) return readToken(res, realmUrl, "POST");
    await discard(res); // §9.5: a 404 to the OAuth2 POST means: use the GET flow
  }
  const url = new URL(realmUrl);
  if (service) url.searchParams.set("service", service);
  for (const s of scopes) url.searchParams.append("scope", s);
  url.searchParams.set("client_id", CLIENT_ID);
  const headers: Record<string, string> = {};
  if (cred && cred.username !== "<token>") headers.authorization = basicAuthorization(cred);
  const res = await rt({ method: "GET", url, headers }, signal);
  return readToken(res, realmUrl, "GET");
}

async function postRefresh(rt: RoundTrip, realm: URL, service: string | undefined, scopes: readonly string[], refreshToken: string, signal?: AbortSignal): Promise<HttpResponse> {
  const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken, client_id: CLIENT_ID });
  if (service) form.set("service", service);
  if (scopes.length) form.set("scope", scopes.join(" "));
  const body = form.toString();
  return rt({ method: "POST", url: realm, headers: { "content-type": "application/x-www-form-urlencoded" }, body: () => body }, signal);
}

async function readToken(res: HttpResponse, realm: URL, method: string): Promise<Token> {
  const where = `${method} ${redactUrl(realm)}`;
  if (res.statusCode !== 200) {
    await discard(res);
    const hint = res.statusCode === 401 || res.statusCode === 403 ? "; check the credentials (`lading login`)" : "";
    throw new LadingError("AUTH", `token server refused the request (${where}: ${res.statusCode})${hint}`);
  }
  let text = "";
  for await (const chunk of res.body) {
    text += chunk;
    if (text.length > MAX_TOKEN_BODY) {
      res.body.destroy();
      throw new LadingError("AUTH", `token server answer from ${where} is larger than 1 MiB`);
    }
  }
  let json: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw new LadingError("AUTH", `token server answer from ${where} is not JSON`);
  }
  const token = typeof json.token === "string" && json.token ? json.token : typeof json.access_token === "string" ? json.access_token : "";
  if (!token) throw new LadingError("AUTH", `token server answer from ${where} has neither "token" nor "access_token"`);
  const expiresIn = typeof json.expires_in === "number" && json.expires_in > 0 ? json.expires_in : 60; // §9.3 default
  const issued = typeof json.issued_at === "string" ? Date.parse(json.issued_at) : NaN;
  const start = Number.isNaN(issued) || issued > Date.now() ? Date.now() : issued;
  // Stop using a token a little before it expires, so a request never races its expiry.
  return { token, expiresAt: start + expiresIn * 1000 - Math.min(10_000, expiresIn * 100) };
}

export function basicAuthorization(cred: Credential): string {
  return `Basic ${Buffer.from(`${cred.username}:${cred.secret}`).toString("base64")}`;
}
