// Workflow Studio: a workflow built by dragging nodes from the palette and connecting them,
// configured, saved, run with input, its steps seen completing live, and its execution opened.
import { test } from "node:test";
import assert from "node:assert/strict";
import { callApi, problems, screenshot, signedInPage, suite } from "./harness.mjs";

/** An element's box once it has stopped moving (two animation frames apart, the same). */
async function settledBox(page, locator) {
  let box = await locator.boundingBox();
  for (let i = 0; i < 30; i++) {
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const next = await locator.boundingBox();
    if (JSON.stringify(next) === JSON.stringify(box)) return box;
    box = next;
  }
  throw new Error("the element kept moving");
}

/** Drags from one element's centre to another's with intermediate moves (React Flow's handles
 * follow pointer moves, not a jump). */
async function drag(page, from, to) {
  const a = await settledBox(page, from);
  const b = await settledBox(page, to);
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 12 });
  await page.mouse.up();
}

suite("studio", (ctx) => {
  test("a workflow drawn from the palette runs and its steps complete live", async () => {
    const { page, token } = await signedInPage(ctx, "wes");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workflows" }).click();
    await page.getByRole("button", { name: "New workflow" }).first().click();
    await page.getByRole("dialog").getByLabel("Name", { exact: true }).fill("Lead priority");
    await page.getByRole("dialog").getByRole("button", { name: "Create", exact: true }).click();
    await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
    const workflowId = page.url().split("/").pop();
    const canvas = page.getByTestId("canvas");
    const start = page.getByTestId("node-start");
    await start.waitFor();

    // The palette: grouped, searchable, display names.
    const palette = page.getByRole("complementary", { name: "Node palette" });
    await palette.getByText("HTTP Request").first().waitFor();
    await palette.getByLabel("Search nodes").fill("set fields");
    const from = await start.boundingBox();
    const area = await canvas.boundingBox();
    await palette.locator('[data-node-type="transform.set"]').dragTo(canvas, {
      targetPosition: { x: from.x - area.x + 40, y: from.y - area.y + from.height + 140 },
    });
    await palette.getByLabel("Search nodes").fill("");
    const added = page.locator('[data-testid^="node-"]:not([data-testid="node-start"])');
    await added.first().waitFor();
    assert.equal(await added.count(), 1, "one node dropped");
    const nodeId = (await added.first().getAttribute("data-testid")).slice("node-".length);

    // Until it is connected, live validation pins a problem to it.
    await page.getByRole("list", { name: `Problems of ${nodeId}` }).waitFor();
    // Both nodes in the middle of the canvas, clear of its edges (dragging a connection near an
    // edge pans the canvas under the pointer).
    await page.locator(".react-flow__controls-fitview").click();
    await drag(page, start.locator(".react-flow__handle.source").first(), added.first().locator(".react-flow__handle.target"));
    await page.locator(".react-flow__edge").first().waitFor();
    await page.getByRole("list", { name: `Problems of ${nodeId}` }).waitFor({ state: "detached" });

    // Configure the new step.
    await added.first().click();
    const settings = page.getByRole("complementary", { name: "Node settings" });
    await settings.getByLabel("fields").fill('{"priority": "{{ $json.score > 50 ? \'hot\' : \'cold\' }}"}');
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText(/version 2/).first().waitFor();
    await screenshot(page, "studio");

    // Run it and watch the steps complete.
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page.getByRole("dialog").getByLabel("Input (JSON)").fill('{"score": 72}');
    await page.getByRole("dialog").getByRole("button", { name: "Start run" }).click();
    await page.locator('[data-testid="node-start"][data-status="completed"]').waitFor();
    await page.locator(`[data-testid="node-${nodeId}"][data-status="completed"]`).waitFor();
    await page.getByRole("button", { name: "Close node settings" }).click();
    await page.locator(".react-flow__controls-fitview").click();
    await screenshot(page, "studio-run");

    const saved = await callApi(ctx.server.url, token, "GET", `/api/workflows/${workflowId}`);
    assert.deepEqual(
      saved.definition.edges.map((e) => [e.from, e.to]),
      [["start", nodeId]],
    );

    await page.getByRole("link", { name: "Open execution" }).click();
    await page.waitForURL(/\/executions\/[0-9a-f-]{36}$/);
    await page.getByRole("heading", { name: /^Execution/ }).first().waitFor();
    await page.getByRole("heading", { name: "Timeline" }).waitFor();
    // The graph is coloured by step status.
    await page.locator(`.react-flow [data-testid="node-${nodeId}"][data-status="completed"]`).waitFor();
    const executionId = page.url().split("/").pop();
    const execution = await callApi(ctx.server.url, token, "GET", `/api/executions/${executionId}`);
    assert.equal(execution.status, "completed");
    assert.equal(execution.output_data.priority, "hot");
    await screenshot(page, "execution");
    assert.deepEqual(problems(page), []);
  });
});
