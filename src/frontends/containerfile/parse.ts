/**
 * parseContainerfile: text → stages of typed instructions. Pure (no files,
 * no API), so tests and `lading` error reporting can use it directly.
 */
import { ContainerfileError } from "../../errors.js";
import { parseInstruction, type Instruction } from "./instructions.js";
import { splitLines } from "./lines.js";

export type FromInstruction = Extract<Instruction, { kind: "FROM" }>;
export type ArgInstruction = Extract<Instruction, { kind: "ARG" }>;

export interface Stage {
  /** Position in the file, 0-based (`COPY --from=0`). */
  index: number;
  /** Lower-cased `AS` name. */
  name?: string;
  from: FromInstruction;
  /** The instructions after FROM, in order. */
  instructions: Instruction[];
}

export interface ParsedContainerfile {
  file: string;
  escape: string;
  directives: Record<string, string>;
  /** ARG instructions before the first FROM (usable in FROM lines only, unless redeclared). */
  globalArgs: ArgInstruction[];
  stages: Stage[];
  /** What docker would warn about: deprecated instructions, each kind once. */
  warnings: ContainerfileWarning[];
}

export interface ContainerfileWarning {
  line: number;
  /** `file:line: …`, ready to show. */
  message: string;
}

export function parseContainerfile(text: string, file: string): ParsedContainerfile {
  const { escape, directives, lines } = splitLines(text, file);
  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const names = new Map<string, number>();
  const warnings: ContainerfileWarning[] = [];
  for (const l of lines) {
    const ins = parseInstruction(l, file, escape);
    if (ins.kind === "MAINTAINER" && !warnings.some((w) => w.message.includes("MAINTAINER"))) {
      warnings.push({ line: ins.line, message: `${file}:${ins.line}: MAINTAINER is deprecated (it sets the image's author field); use LABEL org.opencontainers.image.authors="…"` });
    }
    if (ins.kind === "FROM") {
      if (ins.stageName !== undefined) {
        const prev = names.get(ins.stageName);
        if (prev !== undefined) throw new ContainerfileError(file, ins.line, `FROM: duplicate stage name "${ins.stageName}" (first defined on line ${prev})`);
        names.set(ins.stageName, ins.line);
      }
      stages.push({ index: stages.length, name: ins.stageName, from: ins, instructions: [] });
      continue;
    }
    const current = stages[stages.length - 1];
    if (!current) {
      if (ins.kind !== "ARG") throw new ContainerfileError(file, ins.line, `${ins.kind}: only ARG may come before the first FROM`);
      globalArgs.push(ins);
      continue;
    }
    current.instructions.push(ins);
  }
  if (!stages.length) throw new ContainerfileError(file, lines.length ? lines[lines.length - 1]!.line : 1, "the file has no FROM instruction: a build needs at least one stage");
  return { file, escape, directives, globalArgs, stages, warnings };
}

/**
 * The lines of the instructions whose step is named `description` (the
 * `description` given to the API, which progress events and ExecError
 * messages carry: `RUN make: process … exit code: 2`). Lets a caller put
 * `Containerfile:7:` in front of a failure found while the image is built,
 * after buildContainerfile returned. Several lines when the same
 * instruction text appears more than once.
 */
export function linesOfStep(parsed: ParsedContainerfile, description: string): number[] {
  const lines: number[] = [];
  for (const s of parsed.stages) {
    if (s.from.text === description) lines.push(s.from.line);
    for (const i of s.instructions) if (i.text === description || description.startsWith(i.text + " (")) lines.push(i.line);
  }
  return lines;
}

/** The line of the instruction an evaluation error came from, when its message names exactly one. */
export function lineOfError(parsed: ParsedContainerfile, err: Error): number | undefined {
  const all = [...parsed.stages.flatMap((s) => [s.from, ...s.instructions])];
  const hits = all.filter((i) => err.message.startsWith(i.text + ": ") || err.message.startsWith(i.text + " (create): "));
  return hits.length === 1 ? hits[0]!.line : undefined;
}
