// The browser tests' harness: a real `automatrix serve` (the debug binary, UI embedded) on a
// fresh SQLite file or a fresh PostgreSQL database, and Debian's chromium driven by
// playwright-core. Every page's console errors and uncaught exceptions are collected, and a
// test fails when there are any.
import { spawn, execFileSync } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, createWriteStream, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe } from "node:test";
import { chromium } from "playwright-core";

const BIN = process.env.AUTOMATRIX_BIN ?? resolve("../target/debug/automatrix");
const CHROMIUM = process.env.AUTOMATRIX_CHROMIUM ?? "/usr/bin/chromium";
const SHOTS = process.env.AUTOMATRIX_SCREENSHOTS;
export const ARTIFACTS = resolve("e2e/artifacts");

/** The backends to run on: SQLite always, PostgreSQL when AUTOMATRIX_TEST_POSTGRES_URL names a server. */
export function backends() {
  return process.env.AUTOMATRIX_TEST_POSTGRES_URL ? ["sqlite", "postgres"] : ["sqlite"];
}

function psql(url, sql) {
  execFileSync("psql", [url, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], { stdio: "pipe" });
}

/** Starts a server on a free port; resolves with `{url, stop}` once it is ready. */
export async function startServer(backend = "sqlite") {
  if (!existsSync(BIN)) throw new Error(`no server binary at ${BIN}: build it (cargo build -p automatrix) or set AUTOMATRIX_BIN`);
  const dir = mkdtempSync(join(tmpdir(), "automatrix-e2e-"));
  let database = `sqlite://${dir}/automatrix.db`;
  let dropDb = () => {};
  if (backend === "postgres") {
    const admin = process.env.AUTOMATRIX_TEST_POSTGRES_URL;
    const name = `automatrix_e2e_${process.pid}_${Date.now()}`;
    psql(admin, `CREATE DATABASE ${name}`);
    const u = new URL(admin);
    u.pathname = `/${name}`;
    database = u.toString();
    dropDb = () => psql(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  const log = createWriteStream(join(ARTIFACTS, `server-${backend}.log`));
  const child = spawn(BIN, ["serve"], {
    env: {
      ...process.env,
      DATABASE_URL: database,
      AUTOMATRIX_DATA_DIR: dir,
      AUTOMATRIX_BIND: "127.0.0.1:0",
      AUTOMATRIX_HTTP_ALLOW_PRIVATE: "1",
      AUTOMATRIX_LOG_FORMAT: "text",
      RUST_LOG: "info",
      NO_COLOR: "1",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const url = await new Promise((ok, fail) => {
    let seen = "";
    const timer = setTimeout(() => fail(new Error(`the server did not start in 30 s:\n${seen}`)), 30_000);
    const read = (chunk) => {
      log.write(chunk);
      seen += chunk.toString();
      const m = /AutoMatrix is listening addr=(\S+)/.exec(seen.replace(/\x1b\[[0-9;]*m/g, ""));
      if (m) {
        clearTimeout(timer);
        ok(`http://${m[1]}`);
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => fail(new Error(`the server exited with ${code}:\n${seen}`)));
  });
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${url}/health/ready`).catch(() => null);
    if (res?.ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
      try {
        dropDb();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install chromium)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}

/** A page whose console errors and uncaught exceptions are kept in `page.problems`. */
export async function openPage(browser, baseURL) {
  const context = await browser.newContext({ baseURL, viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") page.problems.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => page.problems.push(`uncaught: ${err.message}`));
  return page;
}

/** Saves a screenshot for the docs when AUTOMATRIX_SCREENSHOTS names a folder. */
export async function screenshot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Registers an account over the API and returns its credentials. */
export async function registerOverApi(url, who = "dana") {
  const email = `${who}.${Date.now()}@mainstmotors.example`;
  const password = "correct horse battery";
  const res = await fetch(`${url}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password, name: who[0].toUpperCase() + who.slice(1) }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return { email, password };
}

/** Signs in through the sign-in page. */
export async function signIn(page, { email, password }) {
  await page.goto("/signin");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("navigation", { name: "Main" }).waitFor();
}

/** The page's console errors and exceptions, except the browser's own notes about answers
 * with the given HTTP statuses (a test that provokes a 422 expects the browser to log it). */
export function problems(page, expectedStatuses = []) {
  return page.problems.filter((p) => {
    const m = /the server responded with a status of (\d+)/.exec(p);
    return !(m && expectedStatuses.includes(Number(m[1])));
  });
}

/** Signs in over the API and returns a bearer for setting up what a test needs. */
export async function apiToken(url, { email, password }) {
  const res = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw new Error(`login: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

/** A JSON call to the API as `token`; throws on an error status. */
export async function callApi(url, token, method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/**
 * A suite run once per backend, each with its own server and browser: `body(ctx)` declares the
 * tests, which read `ctx.server` and `ctx.browser` when they run.
 */
export function suite(name, body) {
  for (const backend of backends()) {
    describe(`${name} (${backend})`, () => {
      const ctx = { backend, server: null, browser: null };
      before(async () => {
        ctx.server = await startServer(backend);
        ctx.browser = await launchBrowser();
      });
      after(async () => {
        await ctx.browser?.close();
        await ctx.server?.stop();
      });
      body(ctx);
    });
  }
}

/** A new account signed in on a new page: `{page, creds, token}`. */
export async function signedInPage(ctx, who) {
  const creds = await registerOverApi(ctx.server.url, who);
  const page = await openPage(ctx.browser, ctx.server.url);
  await signIn(page, creds);
  return { page, creds, token: await apiToken(ctx.server.url, creds) };
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret, `stepOffset` steps from now. */
export function totp(secret, stepOffset = 0) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/[\s=]/g, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000) + stepOffset));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}
