import { z } from "zod";
import { parseDuration } from "../clock.js";
import { ProdlikeError } from "../errors.js";
import type { Toxic } from "./toxic.js";
import { TOXIC_TYPES, type AttributeSpec, type LinkKind } from "./toxic-types.js";

/** A toxic as a user writes it: only `type` is required. */
export const ToxicInputSchema = z.strictObject({
  type: z.string(),
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "use 1-64 letters, digits, '_', '.' or '-'").optional(),
  stream: z.enum(["upstream", "downstream"]).optional(),
  toxicity: z.number().min(0).max(1).optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
});
export type ToxicInput = z.input<typeof ToxicInputSchema>;

function invalid(message: string): ProdlikeError {
  return new ProdlikeError("TOXIC_INVALID", message);
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(JSON.stringify(value) ?? value);
}

/** Validate a toxic, fill its defaults, and check it fits a link of the given kind. */
export function parseToxic(input: unknown, kind?: LinkKind): Toxic {
  const base = ToxicInputSchema.safeParse(input);
  if (!base.success) {
    const issue = base.error.issues[0]!;
    const field = issue.path.join(".") || "toxic";
    const keys = issue.code === "unrecognized_keys" ? ` (${issue.keys.join(", ")}); a toxic has type, name, stream, toxicity, attributes` : "";
    const what = typeof input === "object" && input && "name" in input ? ` "${String((input as { name: unknown }).name)}"` : "";
    throw invalid(`toxic${what}: ${field}: ${issue.message}${keys}`);
  }
  const { type, stream = "downstream", toxicity = 1 } = base.data;
  const def = TOXIC_TYPES[type];
  if (!def) {
    throw invalid(`unknown toxic type ${show(type)}: use one of ${Object.keys(TOXIC_TYPES).join(", ")}`);
  }
  const name = base.data.name ?? `${type}_${stream}`;
  const label = `toxic "${name}" (${type})`;
  if (kind && !def.kinds.includes(kind)) {
    throw invalid(`${label} does not apply to a ${kind} link; it applies to ${def.kinds.join(" and ")} links`);
  }
  const raw = base.data.attributes ?? {};
  const parsed = attributesSchema(def.attributes).safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === "unrecognized_keys") {
      const allowed = Object.keys(def.attributes);
      throw invalid(
        `${label}: unknown attribute ${issue.keys.map(show).join(", ")}; ${type} takes ${allowed.length ? allowed.join(", ") : "no attributes"}`,
      );
    }
    const attr = String(issue.path[0]);
    const spec = def.attributes[attr]!;
    throw invalid(`${label}: attribute "${attr}" must be ${describe(spec)}; got ${show(raw[attr])}`);
  }
  const attributes: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(def.attributes)) {
    const value = (parsed.data as Record<string, unknown>)[key] ?? spec.default;
    if (value !== undefined) attributes[key] = value;
  }
  return { type, name, stream, toxicity, attributes };
}

export function describe(spec: AttributeSpec): string {
  switch (spec.kind) {
    case "number": {
      const range = `${spec.integer ? "a whole number" : "a number"} of ${spec.unit} from ${spec.min} to ${spec.max}`;
      return spec.unit === "ms" ? `${range} (or a duration such as 500ms, 16m)` : range;
    }
    case "enum":
      return `one of ${spec.values.map((v) => `"${v}"`).join(", ")}`;
    case "boolean":
      return "true or false";
  }
}

function attributeSchema(spec: AttributeSpec): z.ZodType {
  switch (spec.kind) {
    case "number": {
      let num = z.number().min(spec.min).max(spec.max);
      if (spec.integer) num = num.int();
      const toNumber = (value: unknown) => {
        if (typeof value !== "string") return value;
        if (spec.unit === "ms" && /[a-z]/.test(value)) {
          try {
            return parseDuration(value);
          } catch {
            return value;
          }
        }
        return value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : value;
      };
      return z.preprocess(toNumber, num).optional();
    }
    case "enum":
      return z.enum(spec.values as [string, ...string[]]).optional();
    case "boolean":
      return z
        .preprocess((v) => (v === "true" ? true : v === "false" ? false : v), z.boolean())
        .optional();
  }
}

function attributesSchema(specs: Readonly<Record<string, AttributeSpec>>) {
  const shape: Record<string, z.ZodType> = {};
  for (const [key, spec] of Object.entries(specs)) shape[key] = attributeSchema(spec);
  return z.strictObject(shape);
}
