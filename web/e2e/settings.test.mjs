// Settings: a credential through its write-only form, and an API key shown once and working.
import { test } from "node:test";
import assert from "node:assert/strict";
import { callApi, problems, screenshot, signedInPage, suite } from "./harness.mjs";

suite("settings", (ctx) => {
  test("an admin stores an SMTP credential whose secret never comes back", async () => {
    const { page, token } = await signedInPage(ctx, "cara");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
    await page.getByRole("link", { name: "Credentials" }).click();
    await page.getByRole("button", { name: "Add credential" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Type").selectOption("smtp");
    await dialog.getByLabel("Name", { exact: true }).fill("Sales mailbox");
    await dialog.getByLabel("Host").fill("smtp.mainstmotors.example");
    await dialog.getByLabel("Port").fill("587");
    await dialog.getByLabel(/^TLS/).selectOption("starttls");
    await dialog.getByLabel(/^Username/).fill("bdc");
    const secret = dialog.getByLabel(/^Password/);
    assert.equal(await secret.getAttribute("type"), "password");
    await secret.fill("s3cret-smtp-pass");
    await screenshot(page, "settings-credential");
    await dialog.getByRole("button", { name: "Save credential" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await page.getByText("Sales mailbox").first().waitFor();
    assert.ok(!(await page.content()).includes("s3cret-smtp-pass"), "the secret is not on the page");
    const list = await callApi(ctx.server.url, token, "GET", "/api/credentials");
    assert.equal(list.items.length, 1);
    assert.equal(list.items[0].type, "smtp");
    assert.ok(!JSON.stringify(list).includes("s3cret-smtp-pass"));
    assert.deepEqual(problems(page), []);
  });

  test("an API key is created, shown once, and works", async () => {
    const { page } = await signedInPage(ctx, "kai");
    await page.goto("/settings");
    await page.getByRole("link", { name: "API keys" }).click();
    await page.getByRole("button", { name: "Create API key" }).click();
    await page.getByRole("dialog").getByLabel("Name", { exact: true }).fill("CRM export");
    await page.getByRole("dialog").getByRole("button", { name: "Create", exact: true }).click();
    const shown = page.getByTestId("new-api-key");
    await shown.waitFor();
    const key = (await shown.textContent()).match(/amx_[A-Za-z0-9_-]+/)?.[0];
    assert.ok(key, "the key is shown");
    await page.getByRole("cell", { name: "CRM export" }).or(page.getByText("CRM export")).first().waitFor();
    await screenshot(page, "settings-api-keys");
    // The key works as a bearer on the API.
    const res = await fetch(`${ctx.server.url}/api/workflows`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200);
    // Shown once: a reload shows the list, not the key.
    await page.reload();
    await page.getByText("CRM export").first().waitFor();
    assert.equal(await page.getByTestId("new-api-key").count(), 0);
    assert.ok(!(await page.content()).includes(key));
    assert.deepEqual(problems(page), []);
  });
});
