import { createHash } from "node:crypto";
import { badRequest, unauthorized } from "./api-error.js";
import type { Params } from "./params.js";

export type SignatureAlgorithm = "sha1" | "sha256";

/** Parameters Cloudinary leaves out of the string to sign. */
const UNSIGNED_PARAMS: ReadonlySet<string> = new Set(["file", "cloud_name", "resource_type", "api_key", "signature"]);

/**
 * The string Cloudinary signs: every non-empty parameter except file, cloud_name,
 * resource_type, api_key (and the signature itself), lists joined by ",", `k=v` sorted and
 * joined by "&". The secret is appended only when hashing.
 */
export function stringToSign(params: Params): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (UNSIGNED_PARAMS.has(key)) continue;
    const text = Array.isArray(value) ? value.join(",") : value;
    if (text === "") continue;
    pairs.push(`${key}=${text}`);
  }
  return pairs.sort().join("&");
}

export function signString(toSign: string, apiSecret: string, algorithm: SignatureAlgorithm = "sha1"): string {
  return createHash(algorithm).update(toSign + apiSecret, "utf8").digest("hex");
}

export function signParams(params: Params, apiSecret: string, algorithm: SignatureAlgorithm = "sha1"): string {
  return signString(stringToSign(params), apiSecret, algorithm);
}

/** The algorithm a hex signature was made with, by its length (SHA-256 is 64 hex digits). */
export function algorithmOf(signature: string): SignatureAlgorithm {
  return signature.length === 64 ? "sha256" : "sha1";
}

/**
 * Throws Cloudinary's 401 when the signature does not match, naming the string to sign so a
 * developer can compare it with what their code signed.
 */
export function verifySignature(params: Params, signature: string, apiSecret: string): void {
  const toSign = stringToSign(params);
  const expected = signString(toSign, apiSecret, algorithmOf(signature));
  if (!timingSafeEqualHex(expected, signature.toLowerCase())) {
    throw unauthorized(`Invalid Signature ${signature}. String to sign - '${toSign}'.`);
  }
}

function timingSafeEqualHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export const STALE_AFTER_SECONDS = 3600;

/** Throws "Stale request" for a timestamp more than an hour old, as Cloudinary does. */
export function checkTimestamp(timestamp: string | undefined, nowMs: number): void {
  if (timestamp === undefined || timestamp === "") throw badRequest("Missing required parameter - timestamp");
  const seconds = Number(timestamp);
  if (!Number.isFinite(seconds)) throw badRequest(`Invalid timestamp - ${timestamp}`);
  if (nowMs / 1000 - seconds > STALE_AFTER_SECONDS) {
    throw badRequest(`Stale request - reported time is ${formatUtc(seconds)} which is more than 1 hour ago`);
  }
}

/** `2011-09-03 06:35:10 +0000`, the format of Cloudinary's stale-request message. */
export function formatUtc(seconds: number): string {
  const iso = new Date(Math.trunc(seconds) * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000`;
}

/** The signature of an API response: `public_id=…&version=…` + secret, as the SDKs verify it. */
export function responseSignature(publicId: string, version: number, apiSecret: string, algorithm: SignatureAlgorithm = "sha1"): string {
  return signString(`public_id=${publicId}&version=${version}`, apiSecret, algorithm);
}
