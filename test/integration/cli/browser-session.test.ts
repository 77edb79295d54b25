import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downFixture, runCli, upFixture, type FixtureStack } from "../../helpers/cli.js";

/**
 * A person in a real browser on the local front: Django's admin login, adding an object with a
 * photo (through django-cloudinary-storage into the stand-in), seeing it listed, logging out.
 * On Render the browser sends `Origin: https://<service>.onrender.com`; here it sends the
 * local origin, which the front maps, so Django's CSRF check passes as it does there.
 */
const CHROMIUM = process.env.PRODLIKE_CHROMIUM_BIN ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const USER = "editor";
const PASSWORD = "a-long-local-password-42";
const CREATE_USER = `
from django.contrib.auth import get_user_model
User = get_user_model()
User.objects.filter(username="${USER}").delete()
User.objects.create_superuser("${USER}", "editor@example.com", "${PASSWORD}")
print("created")
`;

describe("a browser session through the front (render-neon-upstash-cloudinary, admin)", () => {
  let stack: FixtureStack | undefined;
  let browser: Browser;
  /** `https://modestwear.onrender.localhost:<port>`: the certificate's name, which Chromium resolves to 127.0.0.1. */
  let local: string;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's "chromium" package (apt-get install -y chromium) or set PRODLIKE_CHROMIUM_BIN`);
    stack = await upFixture("render-neon-upstash-cloudinary");
    local = `https://modestwear.onrender.localhost:${new URL(stack.url).port}`;
    const created = await runCli(["exec", stack.fixture.dir, "app", "--", "python", "manage.py", "shell", "-c", CREATE_USER]);
    expect(created.stdout + created.stderr).toContain("created");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  });

  afterAll(async () => {
    await browser?.close();
    await downFixture(stack);
  });

  /**
   * `page.goto`, again when Chromium reports ERR_NETWORK_CHANGED: it aborts navigations when a
   * network interface appears, which happens whenever the engine makes a container's veth.
   */
  async function visit(page: Page, url: string): ReturnType<Page["goto"]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await page.goto(url);
      } catch (err) {
        if (attempt >= 5 || !String(err).includes("ERR_NETWORK_CHANGED")) throw err;
      }
    }
  }

  function watch(page: Page): void {
    page.on("requestfailed", (request) => problems.push(`${request.failure()?.errorText} ${request.method()} ${request.url()}`));
    page.on("response", (answer) => {
      if (answer.status() === 403 || answer.status() >= 500) problems.push(`${answer.status()} ${answer.request().method()} ${answer.url()}`);
    });
  }

  /** Submit the page's form with `button` and return the status of the POST it sent. */
  async function submit(page: Page, button: string): Promise<number> {
    const [posted] = await Promise.all([
      page.waitForResponse((answer) => answer.request().method() === "POST", { timeout: 60_000 }).catch((err: Error) => {
        throw new Error(`no answer to the form posted with ${button} on ${page.url()} (${problems.join("; ")}): ${err.message}`);
      }),
      page.click(button),
    ]);
    await page.waitForLoadState();
    return posted.status();
  }

  /** One whole session; a network change in Chromium (see `visit`) reruns it from the start with a new title. */
  async function session(title: string): Promise<void> {
    // The prodlike CA is not in Chromium's store here; the certificate itself is checked in the edge tests.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      watch(page);
      const login = await visit(page, `${local}/admin/login/?next=/admin/`);
      expect(login?.status()).toBe(200);
      await page.fill("#id_username", USER);
      await page.fill("#id_password", PASSWORD);
      // 302 to /admin/ on success; Django's "CSRF verification failed" is a 403.
      expect(await submit(page, "input[type=submit]")).toBe(302);
      expect(page.url()).toBe(`${local}/admin/`);
      await expect.poll(() => page.locator("#user-tools").textContent()).toContain(USER);

      await visit(page, `${local}/admin/gallery/item/add/`);
      await page.fill("#id_title", title);
      const photo = await sharp({ create: { width: 80, height: 60, channels: 3, background: "#7a9e7e" } }).png().toBuffer();
      await page.setInputFiles("#id_image", { name: "linen.png", mimeType: "image/png", buffer: photo });
      expect(await submit(page, "input[name=_save]")).toBe(302);
      expect(page.url()).toBe(`${local}/admin/gallery/item/`);
      await expect.poll(() => page.locator("#result_list").textContent()).toContain(title);

      const screenshot = join(tmpdir(), `prodlike-admin-session-${process.pid}.png`);
      await page.screenshot({ path: screenshot, fullPage: true });
      expect((await stat(screenshot)).size).toBeGreaterThan(1000);
      console.log(`screenshot of the admin's item list: ${screenshot}`);

      // Log out is a POST form in Django 5: CSRF again, from the page's own origin.
      await visit(page, `${local}/admin/`);
      expect(await submit(page, "#logout-form button[type=submit]")).toBe(200);
      const after = await visit(page, `${local}/admin/`);
      expect(after?.url()).toBe(`${local}/admin/login/?next=/admin/`);
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  }

  it("logs in to the admin, adds an item with a photo, sees it listed, and logs out", async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        await session(`Linen dress ${attempt}`);
        return;
      } catch (err) {
        const networkChanged = String(err).includes("ERR_NETWORK_CHANGED");
        problems.length = 0;
        if (attempt >= 3 || !networkChanged) throw err;
        console.warn(`attempt ${attempt}: Chromium saw a network change (another container started); again`);
      }
    }
  });

  it("still refuses a login form posted without its CSRF token: the mapping does not switch the check off", async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await visit(page, `${local}/admin/login/`);
    const status = await page.evaluate(async (target) => {
      const body = new URLSearchParams({ username: "x", password: "y" });
      const answer = await fetch(target, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } });
      return answer.status;
    }, `${local}/admin/login/`);
    // Same page, but no CSRF token in the form: refused (the mapping does not switch the check off).
    expect(status).toBe(403);
    await context.close();
  });
});
