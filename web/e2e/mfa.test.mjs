// Two-factor sign-in: MFA turned on in Settings with an authenticator code, then the sign-in's
// MFA step with a code and with a recovery code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { problems, screenshot, signedInPage, suite, totp } from "./harness.mjs";

suite("mfa", (ctx) => {
  test("MFA is enabled in settings and asked for at the next sign-in", async () => {
    const { page, creds } = await signedInPage(ctx, "mo");
    await page.goto("/settings/security");
    await page.getByRole("button", { name: "Set up MFA" }).click();
    const secret = (await page.getByTestId("mfa-secret").textContent()).replace(/\s/g, "");
    await page.getByRole("img").first().waitFor();
    await page.getByLabel("Authentication code").fill(totp(secret));
    await page.getByRole("button", { name: "Enable", exact: true }).click();
    const codes = (await page.getByTestId("recovery-codes").textContent()).match(/[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}/g);
    assert.equal(codes.length, 10, "ten recovery codes shown once");
    await screenshot(page, "settings-mfa");

    // Signing in now takes a code: the next time step's (a code is accepted once, and one
    // step of drift either way).
    await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Email").fill(creds.email);
    await page.getByLabel("Password").fill(creds.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByLabel("Authentication code").fill("000000" === totp(secret, 1) ? "111111" : "000000");
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("alert").waitFor();
    await page.getByLabel("Authentication code").fill(totp(secret, 1));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();

    // And with a recovery code.
    await page.getByRole("banner").getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Email").fill(creds.email);
    await page.getByLabel("Password").fill(creds.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Use a recovery code" }).click();
    await page.getByLabel("Recovery code").fill(codes[0]);
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
    assert.deepEqual(problems(page, [422]), []);
  });
});
