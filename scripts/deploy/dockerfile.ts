/**
 * A small Dockerfile parser (enough for wattflow's own Dockerfile, checked without a Docker
 * engine): line continuations, comments and parser directives, stages (`FROM … AS name`) with
 * ARG substitution in FROM, and per instruction its flags (`--from=`, `--chown=`, …) and
 * arguments (exec form `["a", "b"]` parsed as JSON, else the shell text). Used by
 * test/deploy/dockerfile.test.ts and scripts/deploy/runtime-tree.ts.
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  /** Upper case: FROM, RUN, COPY, ENV, … */
  op: string;
  /** `--name=value` flags before the arguments (COPY --from=…, HEALTHCHECK --interval=…). */
  flags: Record<string, string>;
  /** The arguments: exec form as a list, else the text (continuations joined). */
  args: string[] | string;
  /** The arguments' text after the flags, as written (continuations joined). */
  text: string;
  /** 1-based line of the instruction. */
  line: number;
}

export interface Stage {
  /** `AS name` (lower case), else its index as a string. */
  name: string;
  /** The base image, with global ARG defaults substituted. */
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM, with their defaults. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

function splitFlags(rest: string): { flags: Record<string, string>; text: string } {
  const flags: Record<string, string> = {};
  let text = rest.trimStart();
  for (;;) {
    const m = /^--([A-Za-z-]+)(?:=(\S*))?\s*/.exec(text);
    if (!m) break;
    flags[m[1]!] = m[2] ?? 'true';
    text = text.slice(m[0].length);
  }
  return { flags, text: text.trim() };
}

function execForm(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  } catch {
    return undefined;
  }
}

const substitute = (s: string, vars: Record<string, string>) =>
  s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a?: string, dflt?: string, b?: string) => vars[(a ?? b)!] ?? dflt ?? '');

export function parseDockerfile(source: string): Dockerfile {
  // logical lines: continuation backslashes joined; comment lines dropped (also inside a continuation)
  const logical: Array<{ text: string; line: number }> = [];
  let buf = '';
  let start = 0;
  source.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#') || (trimmed === '' && buf === '')) return;
    if (buf === '') start = i + 1;
    if (/\\\s*$/.test(raw)) {
      buf += raw.replace(/\\\s*$/, ' ');
      return;
    }
    buf += raw;
    logical.push({ text: buf.trim(), line: start });
    buf = '';
  });
  if (buf.trim() !== '') logical.push({ text: buf.trim(), line: start });

  const out: Dockerfile = { globalArgs: {}, stages: [] };
  for (const { text, line } of logical) {
    const m = /^(\S+)\s*([\s\S]*)$/.exec(text);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const { flags, text: argText } = splitFlags(m[2] ?? '');
    const ins: Instruction = { op, flags, args: execForm(argText) ?? argText, text: argText, line };
    if (op === 'FROM') {
      const fm = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(argText);
      if (!fm) throw new Error(`Dockerfile line ${line}: cannot parse FROM ${argText}`);
      out.stages.push({ name: (fm[2] ?? String(out.stages.length)).toLowerCase(), from: substitute(fm[1]!, out.globalArgs), instructions: [] });
      continue;
    }
    const stage = out.stages.at(-1);
    if (!stage) {
      if (op === 'ARG') {
        const am = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(argText);
        if (am) out.globalArgs[am[1]!] = (am[2] ?? '').replace(/^"(.*)"$/, '$1');
        continue;
      }
      throw new Error(`Dockerfile line ${line}: ${op} before the first FROM`);
    }
    stage.instructions.push(ins);
  }
  return out;
}

export function readDockerfile(path: string): Dockerfile {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

/** ENV instructions of a stage as one map (`ENV A=1 B="two"` and the legacy `ENV A 1`). */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions) {
    if (ins.op !== 'ENV') continue;
    const t = ins.text;
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(t)) {
      const [k, ...v] = t.split(/\s+/);
      env[k!] = v.join(' ');
      continue;
    }
    for (const m of t.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) env[m[1]!] = m[2]!.replace(/^"(.*)"$/, '$1');
  }
  return env;
}

/** ARG instructions of a stage with their defaults. */
export function argsOf(stage: Stage): Record<string, string> {
  const args: Record<string, string> = {};
  for (const ins of stage.instructions) {
    if (ins.op !== 'ARG') continue;
    const am = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(ins.text);
    if (am) args[am[1]!] = (am[2] ?? '').replace(/^"(.*)"$/, '$1');
  }
  return args;
}

/** A COPY's sources and destination (`COPY a b ./` → sources [a, b], dest ./). */
export function copyParts(ins: Instruction): { sources: string[]; dest: string; from?: string } {
  const parts = Array.isArray(ins.args) ? ins.args : ins.text.split(/\s+/);
  if (parts.length < 2) throw new Error(`Dockerfile line ${ins.line}: COPY needs a source and a destination`);
  return { sources: parts.slice(0, -1), dest: parts.at(-1)!, ...(ins.flags.from ? { from: ins.flags.from.toLowerCase() } : {}) };
}

/** The commands of a RUN (shell form split on top-level `&&`; exec form as one command). */
export function runCommands(ins: Instruction): string[] {
  if (Array.isArray(ins.args)) return [ins.args.join(' ')];
  // split on && outside quotes and $( … )
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let depth = 0;
  const t = ins.text;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      cur += c;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '$' && t[i + 1] === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    if (depth === 0 && c === '&' && t[i + 1] === '&') {
      out.push(cur.trim());
      cur = '';
      i++;
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Posix path join for paths inside the image. */
export function imagePath(workdir: string, p: string): string {
  const joined = p.startsWith('/') ? p : `${workdir.replace(/\/$/, '')}/${p}`;
  const parts: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return '/' + parts.join('/');
}

/** The WORKDIR in effect at each instruction of a stage (default /). */
export function workdirAt(stage: Stage, index: number): string {
  let wd = '/';
  for (let i = 0; i < index && i < stage.instructions.length; i++) {
    const ins = stage.instructions[i]!;
    if (ins.op === 'WORKDIR') wd = imagePath(wd, ins.text);
  }
  return wd;
}
