// The bureau's console in a real browser: Debian's Chromium, headless, driven
// by playwright-core, against the real `fieldproof serve` on loopback with real
// device databases enrolled and synced by the `fieldproof device` commands and
// the Changsha boundaries from the corpus. Run by scripts/test-console.
//
// Every wait is bounded (Playwright's timeouts, and the bureau's start-up).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createWriteStream, mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(import.meta.url);
const { chromium } = require(path.join(ROOT, "target/tools/playwright/node_modules/playwright-core"));
const BIN = process.env.FIELDPROOF_BIN ?? path.join(ROOT, "target/debug/fieldproof");
const CORPUS = process.env.FIELDPROOF_CORPUS ?? path.join(ROOT, "../shared/corpus");
const ARTIFACTS = path.join(ROOT, "target/test-artifacts/console");
const TOKEN = "console-test-admin-token-0123456789";
const PASSWORD = "correct horse battery staple";
const HOSTILE = {
  officer: "<script>window.__pwned='officer'</script>王五",
  findings: "<script>window.__pwned='findings'</script>现场明火，已扑灭",
  address: "<img src=x onerror=\"window.__pwned='address'\">高桥镇田间",
  comment: "<script>window.__pwned='comment'</script>请补拍过火面积照片",
};

let dir, bureau, url, browser;
const outside = [];

function cli(...args) {
  const out = execFileSync(BIN, [...args, "--json"], { encoding: "utf8", timeout: 120_000 });
  return out.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

async function admin(method, route, body) {
  const response = await fetch(url + route, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/// A device database enrolled in `township` for an officer named `officer`.
async function device(name, township, officer) {
  const db = path.join(dir, `${name}.db`);
  const code = await admin("POST", "/v1/admin/enrollment-codes", {
    officer_name: officer, jurisdiction: township, role: "township_staff",
  });
  const [enrolled] = cli("device", "--db", db, "enroll", "--server", url, "--code", code.code);
  return { db, officer: enrolled.officer_id, township };
}

/// An inspection recorded, answered and submitted on `dev`; its id.
function inspection(dev, { findings = "发现焚烧痕迹", address = "田间", party = "张三" } = {}) {
  const [created] = cli("inspections", "create", "--db", dev.db, "--matter", "straw_burning",
    "--township", dev.township, "--lat", "28.2476", "--lon", "113.0855", "--datum", "gcj02",
    "--address", address, "--officer", dev.officer, "--findings", findings, "--party-name", party);
  for (const [item, value] of [["fire_on_arrival", "yes"], ["burned_area_mu", "2.5"],
    ["material", "rice_straw"], ["extinguished", "yes"], ["extinguish_method", "water"],
    ["responsible_party_identified", "yes"], ["warning_issued", "yes"]]) {
    cli("inspections", "answer", "--db", dev.db, created.id, item, value);
  }
  cli("inspections", "submit", "--db", dev.db, created.id);
  return created.id;
}

function sync(dev) {
  const [report] = cli("device", "--db", dev.db, "sync");
  assert.equal(report.last_error ?? null, null, JSON.stringify(report));
  return report;
}

async function startBureau() {
  const data = path.join(dir, "bureau");
  const child = spawn(BIN, ["serve", "--data", data, "--listen", "127.0.0.1:0", "--json"], {
    env: { ...process.env, FIELDPROOF_ADMIN_TOKEN: TOKEN }, stdio: ["ignore", "pipe", "pipe"],
  });
  // The bureau's request log goes to a test artifact, not the test's output.
  const log = createWriteStream(path.join(ARTIFACTS, "bureau.log"));
  child.stderr.pipe(log);
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the bureau did not start within 60 s")), 60_000);
    let buffered = "";
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      for (const line of buffered.split("\n").slice(0, -1)) {
        const parsed = JSON.parse(line);
        if (parsed.url) { clearTimeout(timer); resolve(parsed.url); }
      }
      buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
    });
    child.on("exit", (code) => reject(new Error(`the bureau exited with ${code}`)));
  });
  return { child, address };
}

async function context(options = {}) {
  const ctx = await browser.newContext({ locale: "zh-CN", ...options });
  // Every request the console makes must go to the bureau: an intranet has no internet.
  ctx.on("request", (request) => {
    if (!request.url().startsWith(url) && !request.url().startsWith("data:")) outside.push(request.url());
  });
  return ctx;
}

async function signIn(ctx, username, password = PASSWORD) {
  const page = await ctx.newPage();
  await page.goto(`${url}/console/login`);
  await page.fill('input[name="username"]', username);
  await page.fill('input[name="password"]', password);
  const [response] = await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  return { page, response };
}

async function createUser(username, role, jurisdiction) {
  return admin("POST", "/v1/admin/users", {
    username, display_name: `${username} <b>粗体</b>`, password: PASSWORD, grants: [{ role, jurisdiction }],
  });
}

const ids = {};
let here, there;

before(async () => {
  assert.ok(existsSync(BIN), `${BIN} is missing: build it first (cargo build -p fieldproof-cli)`);
  const boundaries = path.join(CORPUS, "boundaries/counties_by_city/430100.json");
  assert.ok(existsSync(boundaries), `the corpus is absent: ${boundaries} (set FIELDPROOF_CORPUS)`);
  dir = mkdtempSync(path.join(tmpdir(), "fieldproof-console-"));
  mkdirSync(ARTIFACTS, { recursive: true });
  ({ child: bureau, address: url } = await startBureau());

  await fetch(`${url}/v1/admin/boundaries?datum=gcj02`, {
    method: "POST", headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: readFileSync(boundaries),
  }).then((r) => assert.equal(r.status, 200));
  await createUser("reviewer.a", "reviewer", "430121");
  await createUser("reviewer.b", "reviewer", "430181");
  await createUser("guessed", "reviewer", "430121");
  await createUser("nojs", "reviewer", "430121");

  here = await device("here", "430121101", HOSTILE.officer);
  there = await device("there", "430181001", "李四");
  ids.hostile = inspection(here, { findings: HOSTILE.findings, address: HOSTILE.address });
  ids.plain = inspection(here);
  ids.nojs = inspection(here);
  ids.there = inspection(there);
  sync(here);
  sync(there);

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
      "--disable-gpu", "--no-first-run", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  bureau?.kill("SIGTERM");
  if (dir) rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(outside, [], "the console asked for something outside the bureau");
});

test("signing in leads to the dashboard, in Chinese", async () => {
  const ctx = await context();
  const { page } = await signIn(ctx, "reviewer.a");
  assert.equal(new URL(page.url()).pathname, "/console/");
  assert.equal(await page.textContent("h1"), "概览");
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");
  // The display name is shown as typed, markup and all.
  assert.match(await page.textContent(".who"), /<b>粗体<\/b>/);
  const cookie = (await ctx.cookies()).find((c) => c.name === "fp_session");
  assert.ok(cookie.httpOnly && cookie.sameSite === "Strict", JSON.stringify(cookie));
  await ctx.close();
});

test("a county reviewer returns a case end to end and the device's next sync shows it", async () => {
  const ctx = await context();
  const { page } = await signIn(ctx, "reviewer.a");
  page.on("dialog", (dialog) => dialog.accept());
  await page.goto(`${url}/console/cases`);
  await page.click(`a[href="/console/cases/${ids.hostile}"]`);
  await page.waitForSelector("section.decide");

  // Script in findings, address and the officer's name is shown as text and never runs.
  assert.equal(await page.textContent("p.findings"), HOSTILE.findings);
  assert.ok((await page.textContent("main")).includes(HOSTILE.address));
  assert.equal(await page.textContent("span.officer"), HOSTILE.officer);
  assert.equal(await page.evaluate(() => document.querySelectorAll("main script, main img").length), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  // A reviewer sees the responsible party.
  assert.ok((await page.textContent("main")).includes("张三"));

  // A return needs a comment: refused, nothing changes.
  const refused = await Promise.all([page.waitForNavigation(), page.click('button[value="return"]')]);
  assert.equal(refused[0].status(), 400);
  assert.ok((await page.textContent("main")).includes("退回时必须填写意见"));
  assert.equal((await admin("GET", `/v1/admin/inspections/${ids.hostile}`)).status, "submitted");

  await page.goto(`${url}/console/cases/${ids.hostile}`);
  await page.fill('section.decide textarea[name="comment"]', HOSTILE.comment);
  await Promise.all([page.waitForNavigation(), page.click('button[value="return"]')]);
  assert.ok((await page.textContent("p.notice")).includes("已退回"));
  assert.equal(await page.textContent("span.comment"), HOSTILE.comment);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);

  sync(here);
  const [shown] = cli("inspections", "show", "--db", here.db, ids.hostile);
  assert.equal(shown.status, "returned", JSON.stringify(shown));
  await ctx.close();
});

test("a reviewer of another county gets nothing, through pages or the API", async () => {
  const ctx = await context();
  const { page } = await signIn(ctx, "reviewer.b");
  await page.goto(`${url}/console/cases`);
  const listed = await page.$$eval("table.cases a", (links) => links.map((a) => a.getAttribute("href")));
  assert.deepEqual(listed, [`/console/cases/${ids.there}`]);
  const response = await page.goto(`${url}/console/cases/${ids.plain}`);
  assert.equal(response.status(), 404);
  assert.ok((await page.textContent("main")).includes("未找到"));
  const api = await ctx.request.get(`${url}/v1/admin/inspections/${ids.plain}`);
  assert.equal(api.status(), 404);
  const csrf = await page.evaluate(() => fetch("/v1/session").then((r) => r.json()).then((s) => s.csrf_token));
  const review = await ctx.request.post(`${url}/v1/admin/inspections/${ids.plain}/review`, {
    headers: { "X-CSRF-Token": csrf }, data: { decision: "accept" },
  });
  assert.equal(review.status(), 404);
  const list = await (await ctx.request.get(`${url}/v1/admin/inspections`)).json();
  assert.deepEqual(list.items.map((i) => i.id), [ids.there]);
  assert.equal((await admin("GET", `/v1/admin/inspections/${ids.plain}`)).status, "submitted");
  await ctx.close();
});

test("a form posted without its CSRF token is refused", async () => {
  const ctx = await context();
  await signIn(ctx, "reviewer.a");
  const missing = await ctx.request.post(`${url}/console/cases/${ids.plain}/review`, {
    form: { decision: "accept", comment: "" },
  });
  assert.equal(missing.status(), 403);
  assert.ok((await missing.text()).includes("csrf_rejected"));
  const wrong = await ctx.request.post(`${url}/console/cases/${ids.plain}/review`, {
    form: { decision: "accept", comment: "", csrf: "not-the-token" },
  });
  assert.equal(wrong.status(), 403);
  assert.equal((await admin("GET", `/v1/admin/inspections/${ids.plain}`)).status, "submitted");
  await ctx.close();
});

test("a wrong password five times slows the account down", async () => {
  const ctx = await context();
  for (let attempt = 1; attempt <= 5; attempt++) {
    const { page, response } = await signIn(ctx, "guessed", `wrong guess ${attempt}`);
    assert.equal(response.status(), 401, `attempt ${attempt}`);
    assert.ok((await page.textContent("p.error")).includes("用户名或密码错误"));
    await page.close();
  }
  const { page, response } = await signIn(ctx, "guessed");
  assert.equal(response.status(), 429);
  assert.ok((await page.textContent("p.error")).includes("登录失败次数过多"));
  await ctx.close();
});

test("the map page draws the boundaries", async () => {
  const ctx = await context({ viewport: { width: 1280, height: 900 } });
  const { page } = await signIn(ctx, "reviewer.a");
  await page.goto(`${url}/console/map`);
  assert.ok((await page.$$("svg.map path.boundary")).length >= 1, "the county's boundary");
  assert.ok((await page.$$("svg.map circle.point.inspection")).length >= 1, "the cases");
  const shot = await (await page.$("figure.map-frame")).screenshot();
  writeFileSync(path.join(ARTIFACTS, "map.png"), shot);
  // Not blank: the picture has more than a couple of colours.
  const colours = await page.evaluate(async (png) => {
    const image = new Image();
    image.src = `data:image/png;base64,${png}`;
    await image.decode();
    const canvas = new OffscreenCanvas(image.width, image.height);
    const g = canvas.getContext("2d");
    g.drawImage(image, 0, 0);
    const pixels = g.getImageData(0, 0, image.width, image.height).data;
    const seen = new Set();
    for (let i = 0; i < pixels.length; i += 4 * 7) seen.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
    return seen.size;
  }, shot.toString("base64"));
  assert.ok(colours > 8, `the map picture has ${colours} colours`);
  await ctx.close();
});

test("every page works without JavaScript: sign in, open a case, accept it", async () => {
  const ctx = await context({ javaScriptEnabled: false });
  const { page } = await signIn(ctx, "nojs");
  for (const route of ["/console/", "/console/cases", "/console/tasks", "/console/map"]) {
    const response = await page.goto(url + route);
    assert.equal(response.status(), 200, route);
  }
  await page.goto(`${url}/console/cases/${ids.nojs}`);
  await Promise.all([page.waitForNavigation(), page.click('button[value="accept"]')]);
  assert.ok((await page.textContent("p.notice")).includes("已通过"));
  assert.equal((await admin("GET", `/v1/admin/inspections/${ids.nojs}`)).status, "accepted");
  await ctx.close();
});
