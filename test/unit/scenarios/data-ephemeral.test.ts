import { describe, expect, it } from "vitest";
import { dataVerdict, describeDatabase, usesGivenDatabase, type DatabaseFacts } from "../../../src/scenarios/data-ephemeral.js";

const sqlite: DatabaseFacts = {
  databases: [{ alias: "default", engine: "django.db.backends.sqlite3", name: "/opt/render/project/src/db.sqlite3", host: "", port: "" }],
  databaseUrlHost: "dpg-abc123-a.oregon-postgres.render.com",
  unsetReads: ["DEBUG", "USE_POSTGRES"],
};
const postgres: DatabaseFacts = {
  databases: [{ alias: "default", engine: "django.db.backends.postgresql", name: "app", host: "aws-0-eu-central-1.pooler.supabase.com", port: "6543" }],
  databaseUrlHost: "aws-0-eu-central-1.pooler.supabase.com",
  unsetReads: [],
};

describe("usesGivenDatabase", () => {
  it("is true only for a server database at DATABASE_URL's host", () => {
    expect(usesGivenDatabase(postgres)).toBe(true);
    expect(usesGivenDatabase(sqlite)).toBe(false);
    expect(usesGivenDatabase({ ...postgres, databases: [{ ...postgres.databases[0]!, host: "localhost" }] })).toBe(false);
    expect(usesGivenDatabase({ ...postgres, databaseUrlHost: null })).toBe(false);
  });
});

describe("dataVerdict", () => {
  it("fails when the row is gone after a wake, with the engine, the file, the unset switch and the fix", () => {
    const verdict = dataVerdict({ facts: sqlite, written: { rows: 1 }, after: { table: false, rows: 0 }, wakeMs: 3400 });
    expect(verdict.status).toBe("fail");
    expect(verdict.summary).toMatch(/^a row the app wrote to its database \(the SQLite file \/opt\/render\/project\/src\/db\.sqlite3\) was gone after the instance woke/);
    expect(verdict.evidence).toEqual([
      'DATABASES["default"]: django.db.backends.sqlite3, NAME /opt/render/project/src/db.sqlite3 (a file on the instance\'s disk)',
      "DATABASE_URL in the app's container: a database at dpg-abc123-a.oregon-postgres.render.com",
      "variables the settings read that are not set: DEBUG, USE_POSTGRES",
      "wrote a row to prodlike_check_probe through the app's connection: 1 row(s) there right after",
      "spun down, woke in a fresh container (3.4 s): the table prodlike_check_probe is gone",
    ]);
    expect(verdict.fix).toContain("dj_database_url.config(default=");
    expect(verdict.fix).toContain("(the settings read DEBUG, USE_POSTGRES, unset here)");
  });

  it("passes a SQLite file that kept the row (a persistent disk) and a database at DATABASE_URL's host without a wake", () => {
    expect(dataVerdict({ facts: sqlite, written: { rows: 1 }, after: { table: true, rows: 1 }, wakeMs: 900 }).status).toBe("pass");
    const given = dataVerdict({ facts: postgres, written: { rows: 1 } });
    expect(given.status).toBe("pass");
    expect(given.summary).toBe("the app keeps its rows in the database DATABASE_URL names (postgresql at aws-0-eu-central-1.pooler.supabase.com), off the instance's disk");
    expect(given.fix).not.toContain("unset here");
  });

  it("describes a server database by host and port", () => {
    expect(describeDatabase(postgres.databases[0]!)).toBe('DATABASES["default"]: django.db.backends.postgresql at aws-0-eu-central-1.pooler.supabase.com:6543');
  });
});
