import { spawn } from "node:child_process";
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stripVTControlCharacters } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { REPO, copyFixture, fetchApp, leftovers } from "../../helpers/cli.js";
import { PtyProcess } from "../../helpers/pty.js";

const BIN = join(REPO, "bin", "prodlike.js");
const UP_TIMEOUT_MS = 600_000;
// A first run builds every image: the test waits longer than the suite's default.
const TEST_TIMEOUT_MS = UP_TIMEOUT_MS + 120_000;

/**
 * What a person sees when `prodlike up` runs in the foreground: on a terminal, compose-style
 * lines with the app's own, the warnings about the project's files naming file and line; off a
 * terminal, pino's ndjson as before.
 */
describe("prodlike up in the foreground: what the terminal shows", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function brokenFixture() {
    const fixture = await copyFixture("render-supabase");
    cleanups.push(async () => {
      await new Promise((resolve) => spawn(process.execPath, [BIN, "down", fixture.dir, "--volumes"], { stdio: "ignore" }).on("close", resolve));
      expect(await leftovers(fixture.project)).toEqual({ containers: 0, networks: 0, volumes: 0 });
      await fixture.dispose();
    });
    // A Procfile without web:, junk and an unclosed quote in .env, a Python the images lack.
    await writeFile(join(fixture.dir, "Procfile"), "release: python manage.py migrate\n");
    await appendFile(join(fixture.dir, ".env"), "this is not a setting\nGREETING=\"hello\n");
    await writeFile(join(fixture.dir, ".python-version"), "3.13\n");
    return fixture;
  }

  it("on a terminal: warnings name file and line, the app's lines read `app       | <line>` in colour", async () => {
    const fixture = await brokenFixture();
    const term = new PtyProcess([process.execPath, BIN, "up", fixture.dir, "--port", "0", "--http-port", "0", "--no-watch"]);
    cleanups.push(async () => term.kill());
    const screen = () => stripVTControlCharacters(term.output).replace(/\r/g, "");
    await expect
      .poll(() => /^ {2}app {8}(https:\S+)/m.test(screen()) || (term.output.includes("error:") ? screen() : false), { timeout: UP_TIMEOUT_MS, interval: 500 })
      .toBe(true);
    const url = /^ {2}app {8}(https:\S+)/m.exec(screen())![1]!;
    expect((await fetchApp(`${url}/auth/health/`)).status).toBe(200);
    await expect.poll(() => /^app {7}\| .*"GET \/auth\/health\/ HTTP\/1\.1" 200/m.test(screen()), { timeout: 30_000, interval: 250 }).toBe(true);

    // `prodlike logs -f` on another terminal: every service in its colour, the app's lines once.
    const logs = new PtyProcess([process.execPath, BIN, "logs", fixture.dir, "-f", "--tail", "200"]);
    cleanups.push(async () => logs.kill());
    const logScreen = () => stripVTControlCharacters(logs.output).replace(/\r/g, "");
    await expect.poll(() => /^postgres {2}\| /m.test(logScreen()) && /^app {7}\| .*GET \/auth\/health\//m.test(logScreen()), { timeout: 60_000, interval: 250 }).toBe(true);
    expect(logScreen().split("\n").filter((line) => /^app {7}\| .*GET \/auth\/health\//.test(line))).toHaveLength(1);
    expect(logScreen()).toMatch(/^prodlike {2}\| app is up {2}seconds=/m);
    logs.interrupt();
    expect(await logs.exited).toBe(0);

    // Ctrl-C ends a foreground up with 130 once the stack is down, as docker compose does.
    term.interrupt();
    expect(await term.exited).toBe(130);

    const lines = screen().split("\n");
    const junkLine = (await readFile(join(fixture.dir, ".env"), "utf8")).split("\n").indexOf("this is not a setting") + 1;
    expect(lines).toContainEqual(expect.stringMatching(/^prodlike {2}\| warning: Procfile has no "web:" line \(only release\), so the app starts with "gunicorn config\.wsgi"/));
    expect(lines).toContainEqual(`prodlike  | warning: .env:${junkLine}: "this is not a setting" is not KEY=VALUE and is ignored: write it as KEY=VALUE, or start it with # to keep it as a comment`);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^prodlike {2}\\| warning: \\.env:${junkLine + 1}: the value of GREETING opens with " and never closes, so GREETING is not set`)));
    expect(lines).toContainEqual(expect.stringMatching(/^prodlike {2}\| warning: \.python-version:1: \.python-version asks for Python 3\.13; the images provide Python 3\.11/));
    // gunicorn's lines once each, under `app`, with gunicorn's own time and level only.
    const booting = lines.filter((line) => line.includes("Booting worker with pid"));
    expect(booting.length).toBeGreaterThan(0);
    for (const line of booting) expect(line).toMatch(/^app {7}\| \[\d{4}-\d\d-\d\d [\d:]+ [+-]\d{4}\] \[\d+\] \[INFO\] Booting worker with pid: \d+$/);
    expect(screen()).not.toMatch(/service: "app"|INFO:/);
    // In colour: the service name is painted, prodlike's events are dimmed.
    expect(term.output).toMatch(/\u001b\[\d+mapp {7}\|\u001b\[39m /);
    expect(term.output).toMatch(/\u001b\[2mprodlike {2}\|\u001b\[22m /);
  }, TEST_TIMEOUT_MS);

  it("off a terminal: the same run prints pino's ndjson, the app's lines as records of service app", async () => {
    const fixture = await brokenFixture();
    const child = spawn(process.execPath, [BIN, "up", fixture.dir, "--port", "0", "--http-port", "0", "--no-watch"], { stdio: ["ignore", "pipe", "pipe"] });
    cleanups.push(async () => void child.kill("SIGKILL"));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
    await expect.poll(() => stderr.includes("Booting worker with pid") || (child.exitCode !== null ? stderr.slice(-2000) : false), { timeout: UP_TIMEOUT_MS, interval: 500 }).toBe(true);
    child.kill("SIGINT");
    expect(await exited).toBe(130);

    const records = stderr.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records.find((r) => String(r.msg).includes("Booting worker with pid"))).toMatchObject({ level: 30, service: "app" });
    expect(records.find((r) => String(r.msg).startsWith("Procfile has no"))).toMatchObject({ level: 40 });
    expect(stderr).not.toContain("\u001b[");
    expect(stdout).toMatch(/is up, as on Render/);
  }, TEST_TIMEOUT_MS);
});
