import { describe, expect, it } from "vitest";
import { parseEnvFile } from "../../../src/config/env-file.js";
import { parseProcfile } from "../../../src/config/procfile.js";

describe("parseEnvFile", () => {
  it("reads KEY=VALUE, quotes, export and comments without a word", () => {
    const text = "# a comment\nA=1\nexport B='two words'\nC=\"x\\ny\"\n\nD=plain # trailing comment\n";
    const parsed = parseEnvFile(text);
    expect(parsed.values).toEqual({ A: "1", B: "two words", C: "x\ny", D: "plain" });
    expect(parsed.warnings).toEqual([]);
  });

  it("names the file and line of a line that is not KEY=VALUE", () => {
    const parsed = parseEnvFile("A=1\njunk line\nB=2\n");
    expect(parsed.values).toEqual({ A: "1", B: "2" });
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings[0]).toMatch(/^\.env:2: "junk line" is not KEY=VALUE and is ignored: write it as KEY=VALUE/);
  });

  it("drops a value whose quote never closes, as python-dotenv does, and says which line", () => {
    const parsed = parseEnvFile('A="abc\nB=2\n');
    expect(parsed.values).toEqual({ B: "2" });
    expect(parsed.values).not.toHaveProperty("A");
    expect(parsed.warnings).toHaveLength(1);
    expect(parsed.warnings[0]).toMatch(/^\.env:1: the value of A opens with " and never closes, so A is not set/);
    expect(parsed.warnings[0]).toContain('A="abc"');
  });

  it("keeps a quoted value spanning lines, and warns when it swallows statements", () => {
    const pem = parseEnvFile('KEY="-----BEGIN-----\nMIIB\n-----END-----"\nB=2\n');
    expect(pem.values.KEY).toBe("-----BEGIN-----\nMIIB\n-----END-----");
    expect(pem.warnings).toEqual([]);
    const swallowing = parseEnvFile('A="abc\nB=2\nC="x"\n');
    expect(swallowing.warnings.join("\n")).toMatch(/^\.env:1: the value of A opens with " and closes only on line 3, so it swallows B, C/);
  });

  it("counts lines the same with CRLF endings", () => {
    expect(parseEnvFile("A=1\r\n\r\noops\r\n").warnings[0]).toMatch(/^\.env:3: "oops"/);
  });
});

describe("parseProcfile", () => {
  it("reads process types and names the line of anything else", () => {
    const parsed = parseProcfile("# processes\nweb: gunicorn app.wsgi\nworker:celery -A app worker\ngunicorn app.wsgi\n");
    expect(parsed.processes).toEqual({ web: "gunicorn app.wsgi", worker: "celery -A app worker" });
    expect(parsed.warnings).toEqual([expect.stringMatching(/^Procfile:4: "gunicorn app\.wsgi" is not "<type>: <command>" and is ignored/)]);
  });
});
