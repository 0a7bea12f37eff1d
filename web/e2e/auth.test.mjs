// Signing up, in and out through the UI; the navigation; unknown paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openPage, problems, registerOverApi, screenshot, signIn, suite } from "./harness.mjs";

suite("sign-in", (ctx) => {
  test("a new dealer registers, lands on the dashboard, signs out and signs in again", async () => {
    const page = await openPage(ctx.browser, ctx.server.url);
    await page.goto("/");
    await page.waitForURL("**/signin");
    await screenshot(page, "sign-in");
    await page.getByRole("button", { name: "Create an account" }).click();
    const email = `maria.${Date.now()}@mainstmotors.example`;
    await page.getByLabel("Name").fill("Maria");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    // The server's refusal is shown in place, with the field it is about.
    await page.getByRole("alert").getByText("password").first().waitFor();
    await page.getByLabel("Password").fill("correct horse battery");
    await page.getByRole("button", { name: "Create account" }).click();
    const nav = page.getByRole("navigation", { name: "Main" });
    await nav.waitFor();
    for (const link of ["Dashboard", "Workflows", "Executions", "Templates", "Settings"]) {
      await nav.getByRole("link", { name: link, exact: true }).waitFor();
    }
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL("**/signin");

    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill("wrong password here");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("invalid email or password").waitFor();
    await signIn(page, { email, password: "correct horse battery" });
    assert.deepEqual(problems(page, [401, 422]), []);
  });

  test("an unknown screen explains itself and a deep link survives signing in", async () => {
    const creds = await registerOverApi(ctx.server.url, "sam");
    const page = await openPage(ctx.browser, ctx.server.url);
    await page.goto("/executions?status=failed");
    await page.waitForURL("**/signin");
    await page.getByLabel("Email").fill(creds.email);
    await page.getByLabel("Password").fill(creds.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL("**/executions?status=failed");
    await page.goto("/no/such/screen");
    await page.getByText("There is no page here").waitFor();
    assert.deepEqual(problems(page), []);
  });
});
