// The templates gallery: find a template, preview its graph, and instantiate it through the
// dialog generated from its parameters.
import { test } from "node:test";
import assert from "node:assert/strict";
import { callApi, problems, screenshot, signedInPage, suite } from "./harness.mjs";

suite("templates", (ctx) => {
  test("a template becomes a workflow through its parameters dialog", async () => {
    const { page, token } = await signedInPage(ctx, "tess");
    await callApi(ctx.server.url, token, "POST", "/api/credentials", {
      name: "Store mail",
      type: "smtp",
      data: { host: "smtp.mainstmotors.example", port: 587, tls: "starttls" },
    });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Templates" }).click();
    await page.getByLabel("Search templates").fill("lead report");
    const card = page.locator("article, li, section").filter({ hasText: "Daily lead report" }).last();
    await card.getByRole("button", { name: "Preview" }).click();
    await page.getByRole("dialog").locator(".react-flow__node").first().waitFor();
    assert.ok((await page.getByRole("dialog").locator(".react-flow__node").count()) > 2, "the preview draws the graph");
    await page.getByRole("dialog").getByRole("button", { name: "Close" }).first().click();
    await page.getByLabel("Search templates").fill("");
    await screenshot(page, "templates");

    await page.getByLabel("Search templates").fill("lead report");
    await card.getByRole("button", { name: "Use template" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Name", { exact: true }).fill("Morning lead report");
    // A required parameter left out is refused by the server and shown at its field.
    await dialog.getByLabel("Store name").fill("Main Street Motors");
    await dialog.getByLabel("Report to").fill("not an address");
    await dialog.getByLabel("From email").fill("bdc@mainstmotors.example");
    await dialog.getByRole("button", { name: "Create workflow" }).click();
    await dialog.getByText("report_to", { exact: false }).first().waitFor();
    await dialog.getByLabel("Report to").fill("gm@mainstmotors.example");
    await screenshot(page, "template-instantiate");
    await dialog.getByRole("button", { name: "Create workflow" }).click();
    await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
    await page.getByTestId("canvas").locator(".react-flow__node").nth(3).waitFor();
    await screenshot(page, "studio-template");
    const id = page.url().split("/").pop();
    const wf = await callApi(ctx.server.url, token, "GET", `/api/workflows/${id}`);
    assert.equal(wf.name, "Morning lead report");
    assert.ok(JSON.stringify(wf.definition).includes("Main Street Motors"), "the parameter is in the definition");
    assert.deepEqual(problems(page, [422]), []);
  });
});
