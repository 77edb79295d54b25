import type { StackDescription } from "../config/types.js";

/**
 * The round trip the app pays per database query in production, from where the app runs
 * (render.yaml `region`, Render's default Oregon) to where the database is (the region in
 * the production DATABASE_URL's host: Supabase `aws-0-eu-central-1.pooler…`, Neon
 * `…<region>.aws.neon.tech`). Rough public inter-region round trips:
 *   same region 2 ms · same continent 60 ms · US ↔ Europe 150 ms · farther 200 ms;
 *   unknown (the URL names no region) 100 ms, a database "somewhere else", the common case.
 */
export interface DbLatency {
  readonly rttMs: number;
  readonly appArea: string | null;
  readonly dbArea: string | null;
  /** "Render oregon → database eu-central-1: US ↔ Europe" */
  readonly reason: string;
}

/** Render's regions, as areas comparable with a cloud region. */
const RENDER_AREAS: Readonly<Record<string, string>> = {
  oregon: "us-west",
  ohio: "us-east",
  virginia: "us-east",
  frankfurt: "eu-central",
  singapore: "ap-southeast",
};

const CLOUD_REGION = /\b(us|eu|ap|sa|ca|me|af|il)-(east|west|central|north|south|northeast|southeast|northwest|southwest)-\d\b/;

/** "eu-central-1" in a host name → { region: "eu-central-1", area: "eu-central" }. */
export function cloudRegionOf(host: string): { region: string; area: string } | null {
  const match = CLOUD_REGION.exec(host);
  return match ? { region: match[0], area: `${match[1]}-${match[2]}` } : null;
}

export function estimateDbLatency(description: StackDescription): DbLatency {
  const region = description.app.region;
  const appArea = RENDER_AREAS[region] ?? null;
  const source = description.app.env.DATABASE_URL;
  if (source?.kind === "database") {
    return { rttMs: 2, appArea, dbArea: appArea, reason: `Render ${region} → a Render Postgres database in the same region` };
  }
  let host = "";
  if (source?.kind === "value") {
    try {
      host = new URL(source.value).hostname;
    } catch {
      host = "";
    }
  }
  const db = cloudRegionOf(host);
  const prefix = `Render ${region} → database ${db ? db.region : host || "(no production DATABASE_URL)"}`;
  if (!appArea || !db) return { rttMs: 100, appArea, dbArea: db?.area ?? null, reason: `${prefix}: regions not both known, assumed another region` };
  const rttMs = roundTrip(appArea, db.area);
  const kind = rttMs === 2 ? "same region" : rttMs === 60 ? "same continent" : rttMs === 150 ? "US ↔ Europe" : "another continent";
  return { rttMs, appArea, dbArea: db.area, reason: `${prefix}: ${kind}` };
}

function roundTrip(a: string, b: string): number {
  if (a === b) return 2;
  const ca = a.split("-")[0];
  const cb = b.split("-")[0];
  const americas = (c: string | undefined) => c === "us" || c === "ca";
  if (ca === cb || (americas(ca) && americas(cb))) return 60;
  const pair = new Set([americas(ca) ? "us" : ca, americas(cb) ? "us" : cb]);
  if (pair.has("us") && pair.has("eu")) return 150;
  return 200;
}
