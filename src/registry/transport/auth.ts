/**
 * Answers `401` challenges (distribution-rules §9): learns each registry
 * host's challenge from its first 401, then authorizes later requests up
 * front — Basic with the stored credential, or a Bearer token fetched for
 * the request's scopes and cached per (realm, service, scopes) until it
 * expires. A request is sent again at most once per challenge.
 */
import type { Challenge } from "../auth/challenge.js";
import type { Credential, CredentialSources } from "../auth/credentials.js";
import type { Token } from "../auth/token.js";
import { discard, headerAll, type HttpRequest, type RoundTrip } from "./types.js";

/**
 * The auth modules load at the first 401: an anonymous registry (or one
 * whose first answer is not a challenge) never needs them, and a short
 * `lading push` spends most of its time starting up.
 */
const authModules = () => Promise.all([import("../auth/challenge.js"), import("../auth/credentials.js"), import("../auth/token.js")]);

export class Authenticator {
  private readonly challenges = new Map<string, Challenge>();
  private readonly tokens = new Map<string, Promise<Token>>();
  private readonly creds = new Map<string, Promise<Credential | undefined>>();

  /** `tokenTransport` carries token requests: retries and redirects, but no auth of its own. */
  constructor(
    private readonly sources: CredentialSources,
    private readonly tokenTransport: RoundTrip,
  ) {}

  async credentialFor(host: string): Promise<Credential | undefined> {
    const [, { findCredential, normalizeRegistryKey }] = await authModules();
    const key = normalizeRegistryKey(host);
    let p = this.creds.get(key);
    if (!p) {
      p = findCredential(key, this.sources);
      this.creds.set(key, p);
      p.catch(() => this.creds.delete(key));
    }
    return p;
  }

  /**
   * The Authorization value for a request to `host` needing `scopes`, from
   * what is known so far. `rejected` is a value the registry just refused:
   * a cached token other than that one (say, fetched meanwhile by a parallel
   * request that met the same challenge) is reused; that one never is.
   */
  async authorization(host: string, scopes: readonly string[], signal?: AbortSignal, rejected?: string): Promise<string | undefined> {
    const ch = this.challenges.get(host);
    if (!ch) return undefined;
    const [{ mergeScopes }, , { basicAuthorization, fetchToken }] = await authModules();
    const cred = await this.credentialFor(host);
    if (ch.scheme === "basic") return cred && cred.username !== "<token>" ? basicAuthorization(cred) : undefined;
    scopes = mergeScopes(scopes);
    const key = `${ch.params.realm}\n${ch.params.service ?? ""}\n${scopes.join(" ")}`;
    let entry = this.tokens.get(key);
    if (entry) {
      const t = await entry.catch(() => undefined);
      if (t && t.expiresAt > Date.now() && `Bearer ${t.token}` !== rejected) return `Bearer ${t.token}`;
      if (this.tokens.get(key) !== entry) return this.authorization(host, scopes, signal, rejected); // replaced meanwhile
    }
    entry = fetchToken(this.tokenTransport, ch, scopes, cred, signal);
    this.tokens.set(key, entry);
    entry.catch(() => this.tokens.delete(key));
    return `Bearer ${(await entry).token}`;
  }

  /** Records the challenge a 401 carried; returns it, or undefined if there was none we can answer. */
  async learn(host: string, headerValues: string[]): Promise<Challenge | undefined> {
    const [{ parseChallenges }] = await authModules();
    const all = parseChallenges(headerValues);
    const ch = all.find((c) => c.scheme === "bearer") ?? all.find((c) => c.scheme === "basic");
    if (ch) this.challenges.set(host, ch);
    return ch;
  }
}

export function withAuth(next: RoundTrip, auth: Authenticator): RoundTrip {
  return async (req, signal) => {
    const host = req.url.host;
    const scopes = req.scopes ?? [];
    const before = await auth.authorization(host, scopes, signal);
    const res = await next(withAuthorization(req, before), signal);
    if (res.statusCode !== 401) return res;
    const ch = await auth.learn(host, headerAll(res, "www-authenticate"));
    if (!ch) return res;
    const [{ mergeScopes }] = await authModules();
    // The challenge's own scope says what this request needs; keep ours too (a mount also needs pull on its source).
    const wanted = mergeScopes([...scopes, ...(ch.params.scope ? [ch.params.scope] : [])]);
    const after = await auth.authorization(host, wanted, signal, before);
    if (!after || after === before) return res;
    await discard(res);
    return next(withAuthorization(req, after), signal);
  };
}

function withAuthorization(req: HttpRequest, value: string | undefined): HttpRequest {
  if (!value) return req;
  return { ...req, headers: { ...req.headers, authorization: value } };
}
