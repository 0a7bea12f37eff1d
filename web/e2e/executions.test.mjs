// The executions explorer and the dashboard: a run waiting for a manager is found by its
// status, approved from its page and seen completing; the dashboard counts it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { callApi, problems, screenshot, signedInPage, suite } from "./harness.mjs";

const discountDesk = {
  nodes: [
    { id: "deal", type: "trigger.manual", name: "Deal submitted" },
    { id: "manager", type: "flow.approval", name: "Sales manager", config: { message: "Approve a {{ $json.discount }}% discount?" } },
    { id: "book", type: "transform.set", name: "Book the deal", config: { fields: { approved_by: "{{ $json.approver }}" } } },
  ],
  edges: [
    { from: "deal", to: "manager" },
    { from: "manager", to: "book" },
  ],
};

suite("executions", (ctx) => {
  test("a waiting approval is found, approved in place, and the run completes", async () => {
    const { page, token } = await signedInPage(ctx, "erin");
    const wf = await callApi(ctx.server.url, token, "POST", "/api/workflows", { name: "Discount desk", definition: discountDesk });
    await callApi(ctx.server.url, token, "POST", `/api/workflows/${wf.id}/execute`, { input: { discount: 12 } });
    const { execution_id: quick } = await callApi(ctx.server.url, token, "POST", `/api/workflows/${wf.id}/execute`, { input: { discount: 3 } });

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Executions" }).click();
    await page.getByLabel("Status").selectOption("waiting");
    await page.waitForURL(/status=waiting/);
    const rows = page.locator("tbody tr");
    await rows.first().waitFor();
    // Both runs wait for the manager.
    await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 2);
    await screenshot(page, "executions");

    // Cancel one from its page.
    await page.goto(`/executions/${quick}`);
    await page.getByRole("button", { name: "Cancel", exact: true }).click();
    await page.getByRole("dialog", { name: "Cancel this run?" }).getByRole("button", { name: "Cancel the run" }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await page.getByText("cancelled", { exact: true }).first().waitFor();

    // Approve the other one.
    await page.goto("/executions?status=waiting");
    await page.waitForFunction(() => document.querySelectorAll("tbody tr").length === 1);
    await rows.first().getByRole("link").first().click();
    await page.waitForURL(/\/executions\/[0-9a-f-]{36}$/);
    await page.getByText("Approve a 12% discount?", { exact: true }).waitFor();
    await page.getByRole("button", { name: "Approve", exact: true }).click();
    await page.locator('.react-flow [data-testid="node-book"][data-status="completed"]').waitFor();
    const id = page.url().split("/").pop();
    const done = await callApi(ctx.server.url, token, "GET", `/api/executions/${id}`);
    assert.equal(done.status, "completed");
    const cancelled = await callApi(ctx.server.url, token, "GET", `/api/executions/${quick}`);
    assert.equal(cancelled.status, "cancelled");

    // The dashboard counts them.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Dashboard" }).click();
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await page.getByText("Slowest workflows").waitFor();
    await page.getByRole("link", { name: "Discount desk" }).first().waitFor();
    await screenshot(page, "dashboard");
    assert.deepEqual(problems(page), []);
  });
});
