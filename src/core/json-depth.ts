/**
 * A nesting limit for JSON text, checked before parsing: one iterative pass over the text (no
 * recursion, so no stack to exhaust; it does not validate the JSON, the parser does that) that
 * stops at the first container nested deeper than the limit and says where, as a JSONPath
 * (`$.inputs[0].data[0][0]…`) and a character offset. Every JSON request body goes through it
 * (the server's `application/json` parser, the Vehicle API's JSON/NDJSON decoder, the
 * registry's metadata header): code that walks a parsed document recursively — tensor
 * flattening, JSON.stringify in a message, validation — then never meets a document deeper than
 * the limit (`http.maxJsonDepth`, default 64).
 */

export const DEFAULT_MAX_JSON_DEPTH = 64;

/** Path segments shown before "…" in a message. */
const SHOWN_SEGMENTS = 8;
/** Longest key shown in a path. */
const SHOWN_KEY = 40;

/** Where `text` nests deeper than `maxDepth` (JSONPath of the container that is one too deep, offset), or undefined. */
export function jsonDepthViolation(text: string, maxDepth: number): { path: string; offset: number; depth: number } | undefined {
  // cheap exit: fewer openers than the limit cannot nest deeper than it
  let openers = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) {
      if (++openers > maxDepth) break;
    }
  }
  if (openers <= maxDepth) return undefined;

  const isObject: boolean[] = []; // per level: object (true) or array
  const index: number[] = []; // per array level: element index
  const key: string[] = []; // per object level: the last key
  let expectKey = false;
  let inString = false;
  let escaped = false;
  let stringStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (escaped) escaped = false;
      else if (c === 0x5c) escaped = true;
      else if (c === 0x22) {
        inString = false;
        if (expectKey && isObject[isObject.length - 1]) key[key.length - 1] = text.slice(stringStart, i);
      }
      continue;
    }
    switch (c) {
      case 0x22: // "
        inString = true;
        stringStart = i + 1;
        break;
      case 0x7b: // {
      case 0x5b: // [
        if (isObject.length >= maxDepth) return { path: renderPath(isObject, index, key), offset: i, depth: isObject.length + 1 };
        isObject.push(c === 0x7b);
        index.push(0);
        key.push('');
        expectKey = c === 0x7b;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        isObject.pop();
        index.pop();
        key.pop();
        expectKey = false;
        break;
      case 0x2c: // ,
        if (isObject.length > 0) {
          if (isObject[isObject.length - 1]) expectKey = true;
          else index[index.length - 1]!++;
        }
        break;
      case 0x3a: // :
        expectKey = false;
        break;
      default:
        break;
    }
  }
  return undefined;
}

function renderPath(isObject: boolean[], index: number[], key: string[]): string {
  const segs: string[] = [];
  for (let l = 0; l < isObject.length && segs.length < SHOWN_SEGMENTS; l++) {
    if (isObject[l]) {
      const k = key[l]!;
      const shown = k.length > SHOWN_KEY ? `${k.slice(0, SHOWN_KEY)}…` : k;
      segs.push(/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(shown)}]`);
    } else segs.push(`[${index[l]}]`);
  }
  return `$${segs.join('')}${isObject.length > SHOWN_SEGMENTS ? '…' : ''}`;
}

/** The message for a document nested too deep (`what`: "JSON body", "NDJSON line 3", …), or undefined when it is within the limit. */
export function jsonDepthProblem(text: string, maxDepth: number, what = 'JSON body'): string | undefined {
  const v = jsonDepthViolation(text, maxDepth);
  return v ? `${what} nested deeper than ${maxDepth} levels at ${v.path} (character ${v.offset}); the limit is http.maxJsonDepth` : undefined;
}
