// Settings: a credential through its write-only form, an API key shown once and working, and
// an invitation link that brings a new person in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { callApi, openPage, problems, screenshot, signedInPage, suite } from "./harness.mjs";

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

  test("an invitation link brings a new salesperson into the organization as an editor", async () => {
    const { page } = await signedInPage(ctx, "gina");
    await page.goto("/settings/members");
    const invitee = `leo.${Date.now()}@mainstmotors.example`;
    await page.getByLabel("Email to invite").fill(invitee);
    await page.getByLabel("Role for the invitee").selectOption("editor");
    await page.getByRole("button", { name: "Create invitation" }).click();
    const link = (await page.getByTestId("new-invitation-link").textContent()).trim();
    assert.match(link, /\/invite\/\S+$/);

    const guest = await openPage(ctx.browser, ctx.server.url);
    await guest.goto(link);
    await guest.getByLabel("Name").fill("Leo");
    await guest.getByLabel("Password").fill("leo's long password");
    await guest.getByRole("button", { name: "Create account and join" }).click();
    await guest.getByRole("navigation", { name: "Main" }).waitFor();
    await guest.getByRole("banner").getByText("Gina's organization").waitFor();
    await guest.getByRole("banner").getByText("editor", { exact: true }).waitFor();
    // The link works once.
    const again = await openPage(ctx.browser, ctx.server.url);
    await again.goto(link);
    await again.getByLabel("Name").fill("Someone");
    await again.getByLabel("Password").fill("another password");
    await again.getByRole("button", { name: "Create account and join" }).click();
    await again.getByRole("alert").getByText(/already used or expired/).waitFor();
    await page.reload();
    await page.getByRole("cell", { name: invitee }).or(page.getByText(invitee)).first().waitFor();
    assert.deepEqual(problems(page), []);
    assert.deepEqual(problems(guest), []);
    assert.deepEqual(problems(again, [404]), []);
  });
});
