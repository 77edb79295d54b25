/**
 * Request parameters as the Upload and Admin APIs see them: every value a string or a list
 * of strings. The SDKs send lists as `key[]` or `key[0]`, `key[1]`…; both become `key`.
 */
export type ParamValue = string | string[];
export type Params = Record<string, ParamValue>;

const LIST_KEY = /^(.+?)\[(\d*)\]$/;

export function addParam(params: Params, rawKey: string, value: string): void {
  const match = LIST_KEY.exec(rawKey);
  if (!match) {
    params[rawKey] = value;
    return;
  }
  const key = match[1] as string;
  const current = params[key];
  if (Array.isArray(current)) current.push(value);
  else params[key] = current === undefined ? [value] : [current, value];
}

export function paramsFromSearch(search: URLSearchParams, into: Params = {}): Params {
  for (const [key, value] of search) addParam(into, key, value);
  return into;
}

/** A JSON object body (the Admin API accepts JSON too): scalars become strings. */
export function paramsFromJson(value: unknown, into: Params = {}): Params {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return into;
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (Array.isArray(item)) into[key] = item.map((entry) => scalar(entry));
    else if (item !== null && item !== undefined) into[key] = scalar(item);
  }
  return into;
}

function scalar(value: unknown): string {
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

/** A single string value; lists are joined with "," as Cloudinary does when signing. */
export function str(params: Params, key: string): string | undefined {
  const value = params[key];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(",") : value;
}

export function list(params: Params, key: string): string[] {
  const value = params[key];
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : value.split(",");
  return items.map((item) => item.trim()).filter((item) => item !== "");
}

/** Cloudinary booleans: "true"/"1" are true, "false"/"0" false; absent → the default. */
export function bool(params: Params, key: string, fallback: boolean): boolean {
  const value = str(params, key);
  if (value === undefined || value === "") return fallback;
  return value === "true" || value === "1";
}

export function int(params: Params, key: string): number | undefined {
  const value = str(params, key);
  if (value === undefined || value === "") return undefined;
  const parsed = Number(value);
  return Number.isInteger(parsed) ? parsed : Number.NaN;
}

/** `alt=a cat|caption=x` → { alt: "a cat", caption: "x" }; a backslash escapes "|" and "=" inside values. */
export function parseContext(text: string | undefined): Record<string, string> | undefined {
  if (!text) return undefined;
  const context: Record<string, string> = {};
  const unescape = (value: string) => value.replace(/\\([|=])/g, "$1");
  for (const pair of text.split(/(?<!\\)\|/)) {
    const eq = pair.search(/(?<!\\)=/);
    if (eq <= 0) continue;
    context[unescape(pair.slice(0, eq))] = unescape(pair.slice(eq + 1));
  }
  return Object.keys(context).length > 0 ? context : undefined;
}
