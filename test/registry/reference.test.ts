import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatReference, isLikelyRegistryReference, parseReference } from "../../src/registry/reference.js";
import { parseChallenges } from "../../src/registry/auth/challenge.js";

const D = "sha256:" + "a".repeat(64);

describe("parseReference (docker normalisation)", () => {
  const cases: Array<[string, string]> = [
    ["alpine", "docker.io/library/alpine"],
    ["alpine:3.19", "docker.io/library/alpine:3.19"],
    ["library/alpine:latest", "docker.io/library/alpine:latest"],
    ["user/app", "docker.io/user/app"],
    ["index.docker.io/library/alpine", "docker.io/library/alpine"],
    ["docker.io/alpine", "docker.io/library/alpine"],
    ["localhost/app", "localhost/app"],
    ["localhost:5000/app:v1", "localhost:5000/app:v1"],
    ["127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000/a/b/c:t"],
    ["ghcr.io/o/r@" + D, "ghcr.io/o/r@" + D],
    ["ghcr.io/o/r:t@" + D, "ghcr.io/o/r:t@" + D],
    ["[::1]:5000/x", "[::1]:5000/x"],
    ["docker://quay.io/a/b:c", "quay.io/a/b:c"],
    ["a__b/c--d.e_f", "docker.io/a__b/c--d.e_f"],
  ];
  for (const [input, want] of cases) {
    it(`${input} → ${want}`, () => assert.equal(formatReference(parseReference(input)), want));
  }

  const bad: Array<[string, RegExp]> = [
    ["", /empty/],
    ["Alpine", /repository component "Alpine"/],
    ["alpine:" + "x".repeat(129), /tag/],
    ["alpine:-bad", /tag "-bad"/],
    ["alpine@sha256:abc", /digest "sha256:abc"/],
    ["host:99999/x", /port 99999/],
    ["a//b", /repository component ""/],
    ["ex ample.com/x", /registry host|repository component/],
    ["a/" + "b".repeat(260), /longer than 255/],
  ];
  for (const [input, msg] of bad) {
    it(`rejects ${JSON.stringify(input.slice(0, 30))} naming the bad part`, () =>
      assert.throws(() => parseReference(input), (e: Error & { code?: string }) => e.code === "INVALID_ARGUMENT" && msg.test(e.message)));
  }

  it("tells registry references from other sources", () => {
    for (const s of ["alpine:3", "localhost:5000/x", "ghcr.io/a/b@" + D]) assert.equal(isLikelyRegistryReference(s), true, s);
    for (const s of ["oci:/tmp/x:tag", "oci-archive:/tmp/a.tar", "oci:dir", "./x", "/abs/path", "Not A Name"]) assert.equal(isLikelyRegistryReference(s), false, s);
  });
});

describe("WWW-Authenticate parsing (RFC 7235)", () => {
  it("keeps commas inside quoted scope values", () => {
    const [c] = parseChallenges([`Bearer realm="https://auth.example/token",service="registry.example",scope="repository:ns/app:pull,push"`]);
    assert.deepEqual(c, { scheme: "bearer", params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:ns/app:pull,push" } });
  });
  it("reads several challenges, unquoted values and escapes", () => {
    const cs = parseChallenges([`Basic realm="a \\"q\\" b", Bearer realm=https://x/t, service=svc`]);
    assert.deepEqual(cs, [
      { scheme: "basic", params: { realm: 'a "q" b' } },
      { scheme: "bearer", params: { realm: "https://x/t", service: "svc" } },
    ]);
  });
  it("scopes with host:port names survive", () => {
    const [c] = parseChallenges([`Bearer realm="r",scope="repository:127.0.0.1:5000/a:pull repository:b:push"`]);
    assert.equal(c!.params.scope, "repository:127.0.0.1:5000/a:pull repository:b:push");
  });
});

describe("token scope merging", () => {
  it("one resource, the union of its actions; host:port names kept whole", async () => {
    const { mergeScopes } = await import("../../src/registry/auth/challenge.js");
    assert.deepEqual(mergeScopes(["repository:a/b:pull,push", "repository:a/b:pull", "repository:127.0.0.1:5000/c:pull registry:catalog:*"]), [
      "registry:catalog:*",
      "repository:127.0.0.1:5000/c:pull",
      "repository:a/b:pull,push",
    ]);
  });
});
