import { test } from "node:test";
import assert from "node:assert/strict";
import { parseContainerfile } from "../../src/frontends/containerfile/index.js";
import { parseMount } from "../../src/frontends/containerfile/mounts.js";
import { parseWords, parseDuration } from "../../src/frontends/containerfile/words.js";

test("continuations join lines, skipping comments and blank lines inside them", () => {
  const p = parseContainerfile("FROM scratch\nRUN echo a \\\n  # note\n\n  && echo b\nENV X=1\n", "Containerfile");
  const [run, env] = p.stages[0]!.instructions;
  assert.equal(run!.kind, "RUN");
  assert.deepEqual(run!.kind === "RUN" && run!.command, { shell: "echo a   && echo b" });
  assert.equal(run!.line, 2);
  assert.equal(env!.line, 6);
});

test("heredocs: bodies, chomp, quoted delimiters and the lines they span", () => {
  const p = parseContainerfile('FROM scratch\nRUN <<EOF\necho $A\nEOF\nCOPY <<-"X" /f\n\tliteral $A\n\tX\nCMD ["x"]\n', "F");
  const [run, copy, cmd] = p.stages[0]!.instructions;
  assert.ok(run!.kind === "RUN");
  assert.deepEqual(run.heredocs, [{ name: "EOF", content: "echo $A\n", expand: true, chomp: false }]);
  assert.equal(run.endLine, 4);
  assert.ok(copy!.kind === "COPY");
  assert.deepEqual(copy.heredocs, [{ name: "X", content: "literal $A\n", expand: false, chomp: true }]);
  assert.equal(copy.line, 5);
  assert.equal(cmd!.line, 8);
  assert.deepEqual(cmd!.kind === "CMD" && cmd!.command, { exec: ["x"] });
});

test("JSON and shell forms; invalid JSON falls back to the shell form as docker does", () => {
  const p = parseContainerfile('FROM scratch\nCMD ["a", "b c"]\nENTRYPOINT [not json]\n', "F");
  const [cmd, ep] = p.stages[0]!.instructions;
  assert.deepEqual(cmd!.kind === "CMD" && cmd!.command, { exec: ["a", "b c"] });
  assert.deepEqual(ep!.kind === "ENTRYPOINT" && ep!.command, { shell: "[not json]" });
});

test("stages, names, global args, flags", () => {
  const p = parseContainerfile("ARG V=1\nFROM --platform=$BUILDPLATFORM img:$V AS Build\nCOPY --from=build --chown=1:2 --link a b\nFROM build\n", "F");
  assert.equal(p.globalArgs.length, 1);
  assert.equal(p.stages.length, 2);
  assert.equal(p.stages[0]!.name, "build");
  assert.equal(p.stages[0]!.from.platform, "$BUILDPLATFORM");
  const copy = p.stages[0]!.instructions[0]!;
  assert.ok(copy.kind === "COPY");
  assert.equal(copy.from, "build");
  assert.equal(copy.chown, "1:2");
  assert.deepEqual(copy.sources, ["a"]);
});

test("parseWords keeps quotes inside words, as docker's ENV/LABEL parsing", () => {
  assert.deepEqual(parseWords('A=1 B="2 3" C=\'x y\' D=a\\ b', "\\"), ["A=1", 'B="2 3"', "C='x y'", "D=a\\ b"]);
});

test("RUN --mount options", () => {
  assert.deepEqual(parseMount("type=cache,target=/root/.cache,sharing=locked,id=pip"), {
    type: "cache", target: "/root/.cache", id: "pip", sharing: "LOCKED", from: undefined, source: undefined, uid: undefined, gid: undefined, userOwned: false,
  });
  assert.deepEqual(parseMount("type=secret,id=tok,required"), { type: "secret", id: "tok", target: undefined, env: undefined, required: true, mode: undefined, uid: undefined, gid: undefined });
  assert.deepEqual(parseMount("target=/src,rw"), { type: "bind", target: "/src", source: "/", from: undefined, readWrite: true, userOwned: false });
  // podman's options: z/Z are case-sensitive flags (relabel, a no-op here), U hands the mount to the command's user.
  assert.deepEqual(parseMount("type=bind,source=x,target=/x,Z,U"), { type: "bind", target: "/x", source: "x", from: undefined, readWrite: false, userOwned: true });
  assert.deepEqual(parseMount("type=cache,target=/c,z"), { type: "cache", target: "/c", id: undefined, sharing: "SHARED", from: undefined, source: undefined, uid: undefined, gid: undefined, userOwned: false });
  assert.deepEqual(parseMount("type=tmpfs,target=/t,tmpcopyup"), { type: "tmpfs", target: "/t", copyUp: true });
  assert.deepEqual(parseMount("type=tmpfs,target=/t,notmpcopyup"), { type: "tmpfs", target: "/t", copyUp: false });
  assert.throws(() => parseMount("type=bind,target=/x,u"), /unknown --mount option "u"/);
  assert.throws(() => parseMount("type=bind,target=/x,U=1"), /U takes no value/);
  assert.throws(() => parseMount("type=bind,target=/x,relabel=maybe"), /shared or private/);
  assert.throws(() => parseMount("type=tmpfs,target=/x,U"), /unknown --mount option "U"/);
  assert.throws(() => parseMount("type=ssh"), /not supported/);
  assert.throws(() => parseMount("type=cache"), /needs target/);
  assert.throws(() => parseMount("type=cache,target=/x,sharing=weird"), /shared, private or locked/);
});

test("durations as Go parses them", () => {
  assert.equal(parseDuration("30s"), 30e9);
  assert.equal(parseDuration("1m30s"), 90e9);
  assert.equal(parseDuration("1.5h"), 5400e9);
  assert.equal(parseDuration("5x"), undefined);
});

test("linesOfStep finds every instruction a step name belongs to", async () => {
  const { linesOfStep } = await import("../../src/frontends/containerfile/index.js");
  const p = parseContainerfile("FROM scratch AS a\nRUN make\nFROM a\nRUN make\nWORKDIR /x\n", "F");
  assert.deepEqual(linesOfStep(p, "RUN make"), [2, 4]);
  assert.deepEqual(linesOfStep(p, "WORKDIR /x (create)"), [5]);
  assert.deepEqual(linesOfStep(p, "FROM a"), [3]);
  assert.deepEqual(linesOfStep(p, "RUN other"), []);
});
