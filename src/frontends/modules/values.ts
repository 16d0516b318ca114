/**
 * Command-line text → the typed values functions take: numbers checked,
 * enums matched by value or member name, lists comma-separated or repeated,
 * `Directory`/`File` from host paths or git URLs, `Container` from an image
 * reference, `Secret` from `env:NAME`, `file:PATH` or `cmd:COMMAND`,
 * `Service` from `tcp://localhost:PORT` (a port of this machine). A
 * secret's value is read here and handed to the session, never echoed.
 */
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { isGitAddress, LadingError, parseGitSource, type Client } from "../../index.js";
import { kebab, typeText, type ArgSchema, type TypeRef } from "./schema.js";

/** One argument's value from the texts given for it (several for a repeated flag). */
export async function argValue(client: Client, fnName: string, a: ArgSchema, texts: string[]): Promise<unknown> {
  const flag = `${kebab(fnName)} --${kebab(a.name)}`;
  if (a.type.kind === "array") {
    const items = texts.flatMap((t) => (t === "" ? [] : t.split(",")));
    return Promise.all(items.map((t) => scalar(client, flag, a.name, a.type.kind === "array" ? a.type.of : a.type, t)));
  }
  if (texts.length > 1) throw new LadingError("INVALID_ARGUMENT", `${flag} given ${texts.length} times; it takes one ${typeText(a.type)}`);
  return scalar(client, flag, a.name, a.type, texts[0]!);
}

async function scalar(client: Client, flag: string, argName: string, t: TypeRef, text: string): Promise<unknown> {
  const bad = (what: string): never => {
    throw new LadingError("INVALID_ARGUMENT", `${flag}: ${what}`);
  };
  switch (t.kind) {
    case "string":
      return text;
    case "number": {
      const n = Number(text);
      if (text.trim() === "" || !Number.isFinite(n)) bad(`expected a number, got "${text}"`);
      return n;
    }
    case "boolean":
      if (text !== "true" && text !== "false") bad(`expected true or false, got "${text}"`);
      return text === "true";
    case "enum": {
      const at = t.values.findIndex((v) => String(v) === text);
      if (at >= 0) return t.values[at];
      const byName = t.names?.indexOf(text) ?? -1;
      if (byName >= 0) return t.values[byName];
      return bad(`"${text}" is not one of ${(t.names ?? t.values.map(String)).join(", ")}`);
    }
    case "core":
      switch (t.name) {
        case "Directory":
          if (isGitAddress(text)) {
            const spec = parseGitSource(text);
            const repo = client.git(spec.url);
            const tree = (spec.ref ? repo.ref(spec.ref) : repo.head()).tree();
            return spec.subdir ? tree.directory(spec.subdir) : tree;
          }
          if (!existsSync(text) || !statSync(text).isDirectory()) bad(`directory ${resolve(text)} does not exist`);
          return client.host().directory(text);
        case "File":
          if (!existsSync(text) || !statSync(text).isFile()) bad(`file ${resolve(text)} does not exist`);
          return client.host().file(text);
        case "Container":
          if (!text) bad("expected an image reference");
          return client.container().from(text);
        case "CacheVolume":
          return client.cacheVolume(text);
        case "Secret":
          return secret(client, flag, argName, text);
        case "Service": {
          // As Dagger's CLI: a port of this machine, which the function's containers bind like any service.
          const m = /^tcp:\/\/(?:localhost|127\.0\.0\.1):(\d{1,5})$/.exec(text);
          if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) bad(`a service is given as tcp://localhost:PORT (a port of this machine), got "${text}"`);
          const port = Number(m![1]);
          return client.host().service([{ frontend: port, backend: port }]);
        }
      }
      break;
    default:
      break;
  }
  return bad(`an argument of type ${typeText(t)} cannot be given on the command line`);
}

const run = promisify(execFile);

async function secret(client: Client, flag: string, name: string, text: string): Promise<unknown> {
  const colon = text.indexOf(":");
  const [kind, rest] = colon < 0 ? ["", text] : [text.slice(0, colon), text.slice(colon + 1)];
  // Messages name the source (a variable, a path, "the command"), never the text after cmd: nor any value.
  if (kind === "env") {
    try {
      return client.secretFromEnv(name, rest);
    } catch (err) {
      if (err instanceof LadingError && err.code === "NOT_FOUND") throw new LadingError("INVALID_ARGUMENT", `${flag}: environment variable ${rest} is not set`);
      throw err;
    }
  }
  if (kind === "file") {
    if (!existsSync(rest)) throw new LadingError("INVALID_ARGUMENT", `${flag}: secret file ${resolve(rest)} does not exist`);
    return client.secretFromFile(name, rest);
  }
  if (kind === "cmd") {
    try {
      const { stdout } = await run("/bin/sh", ["-c", rest], { encoding: "utf8", maxBuffer: 1 << 20 });
      return client.setSecret(name, stdout.replace(/\n$/, ""));
    } catch (err) {
      throw new LadingError("INVALID_ARGUMENT", `${flag}: the secret's command failed (exit code ${(err as { code?: unknown }).code ?? "?"})`);
    }
  }
  throw new LadingError("INVALID_ARGUMENT", `${flag}: a secret is given as env:NAME, file:PATH or cmd:COMMAND`);
}
