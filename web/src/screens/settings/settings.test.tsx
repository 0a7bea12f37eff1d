import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fakeAuth, ORG_ID } from "../../test/auth";
import { forbidden, mockFetch, type Call } from "../../test/fetch";
import { renderAt } from "../../test/render";
import SettingsPage from "./SettingsPage";

vi.mock("../../auth/AuthContext", async () => {
  const fake = await import("../../test/auth");
  return { useAuth: () => fake.authValue() };
});

const renderSettings = (path: string) => renderAt(<SettingsPage />, { path, route: "/settings/*" });

const KEY = "amx_Abc123xyz0000000000000000000000000000000000";

beforeEach(() => {
  fakeAuth.role = "admin";
  fakeAuth.mfaEnabled = false;
});
afterEach(() => {
  vi.unstubAllGlobals();
});

describe("settings navigation", () => {
  it("opens Members by default and lists the sections", async () => {
    mockFetch({
      [`GET /api/orgs/${ORG_ID}/members`]: { items: [] },
      [`GET /api/orgs/${ORG_ID}/invitations`]: { items: [] },
    });
    renderSettings("/settings");
    for (const name of ["Members", "API keys", "Credentials", "AI", "Security"]) {
      expect(screen.getByRole("link", { name })).toBeInTheDocument();
    }
    expect(await screen.findByRole("heading", { name: "Members" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Members" })).toHaveAttribute("aria-current", "page");
  });
});

describe("API keys", () => {
  it("creates a key with the chosen name, role and expiry and shows the full key once", async () => {
    const created = {
      id: "k1",
      name: "DMS sync",
      role: "viewer",
      prefix: KEY.slice(0, 10),
      key: KEY,
      created_at: "2026-12-03T08:00:00Z",
      expires_at: "2027-01-31T23:59:59Z",
      last_used_at: null,
    };
    let listed: unknown[] = [];
    const { calls } = mockFetch({
      "GET /api/api-keys": () => ({ body: { items: listed } }),
      "POST /api/api-keys": () => {
        const { key: _key, ...rest } = created;
        void _key;
        listed = [rest];
        return { status: 201, body: created };
      },
    });
    const user = userEvent.setup();
    renderSettings("/settings/api-keys");
    expect(await screen.findByText("No API keys yet")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Create API key" }));
    const dialog = screen.getByRole("dialog", { name: "Create API key" });
    await user.type(within(dialog).getByLabelText("Name"), "  DMS sync ");
    await user.selectOptions(within(dialog).getByLabelText("Role"), "viewer");
    await user.type(within(dialog).getByLabelText("Expires on (optional)"), "2027-01-31");
    await user.click(within(dialog).getByRole("button", { name: "Create" }));

    const shown = await screen.findByTestId("new-api-key");
    expect(shown).toHaveTextContent(KEY);
    expect(screen.getByText(/only time the full key is shown/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Copy" })).toBeInTheDocument();

    const post = calls.find((c) => c.method === "POST");
    expect(post?.path).toBe("/api/api-keys");
    const body = post?.body as { name: string; role: string; expires_at: string };
    expect(body.name).toBe("DMS sync");
    expect(body.role).toBe("viewer");
    expect(new Date(body.expires_at).getFullYear()).toBe(2027);
    expect(Object.keys(body).sort()).toEqual(["expires_at", "name", "role"]);

    // The dialog closes; the list shows the new key by its prefix, beside the one-time banner.
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(await screen.findByRole("cell", { name: /DMS sync/ })).toBeInTheDocument();
    expect(screen.getByText(`${KEY.slice(0, 10)}…`)).toBeInTheDocument();
    // Dismissed, the full key is gone for good.
    await user.click(screen.getByRole("button", { name: "I have copied the key" }));
    expect(screen.queryByTestId("new-api-key")).not.toBeInTheDocument();
    expect(screen.queryByText(KEY)).not.toBeInTheDocument();
  });

  it("offers no role above the caller's", async () => {
    mockFetch({ "GET /api/api-keys": { items: [] } });
    const user = userEvent.setup();
    renderSettings("/settings/api-keys");
    await user.click(await screen.findByRole("button", { name: "Create API key" }));
    const options = within(screen.getByLabelText("Role")).getAllByRole("option") as HTMLOptionElement[];
    expect(options.map((o) => o.value)).toEqual(["viewer", "editor", "admin"]);
    expect(screen.getByLabelText("Role")).toHaveValue("editor");
  });

  it("sends no expiry when none is chosen", async () => {
    const { calls } = mockFetch({
      "GET /api/api-keys": { items: [] },
      "POST /api/api-keys": { id: "k", name: "Zapier", role: "editor", prefix: "amx_Abc123", key: KEY, created_at: "", expires_at: null, last_used_at: null },
    });
    const user = userEvent.setup();
    renderSettings("/settings/api-keys");
    await user.click(await screen.findByRole("button", { name: "Create API key" }));
    await user.type(screen.getByLabelText("Name"), "Zapier");
    await user.click(screen.getByRole("button", { name: "Create" }));
    await screen.findByTestId("new-api-key");
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ name: "Zapier", role: "editor" });
  });

  it("shows a 403 in place when the server refuses", async () => {
    mockFetch({ "GET /api/api-keys": forbidden("this needs the admin role; you are an editor") });
    renderSettings("/settings/api-keys");
    const alert = await screen.findByRole("alert");
    expect(alert).toHaveTextContent("The API keys could not be loaded");
    expect(alert).toHaveTextContent("this needs the admin role; you are an editor");
  });

  it("hides key management from editors with a note", async () => {
    fakeAuth.role = "editor";
    const { calls } = mockFetch({});
    renderSettings("/settings/api-keys");
    expect(screen.getByText(/Only admins and owners can see and manage API keys/)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Create API key" })).not.toBeInTheDocument();
    expect(calls.filter((c) => c.path === "/api/api-keys")).toHaveLength(0);
  });

  it("revokes a key after confirming", async () => {
    const { calls } = mockFetch({
      "GET /api/api-keys": { items: [{ id: "k9", name: "Old sync", role: "viewer", prefix: "amx_OLDOLD", created_at: "2026-01-01T00:00:00Z", expires_at: null, last_used_at: null }] },
      "DELETE /api/api-keys/k9": { status: 204 },
    });
    const user = userEvent.setup();
    renderSettings("/settings/api-keys");
    await user.click(await screen.findByRole("button", { name: "Revoke" }));
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await user.click(screen.getByRole("button", { name: "Revoke key" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/api-keys/k9")).toBe(true));
  });
});

const SMTP_TYPE = {
  type: "smtp",
  description: "An SMTP server for email.send.",
  data_schema: {
    type: "object",
    additionalProperties: false,
    properties: {
      host: { type: "string", minLength: 1, description: "The server's host name or address." },
      password: { type: "string", description: "Password, when the server wants one." },
      port: { type: "integer", minimum: 1, maximum: 65535, description: "The port." },
      tls: { enum: ["none", "starttls", "tls"], description: "`starttls` upgrades" },
      username: { type: "string", description: "Login name." },
    },
    required: ["host", "port", "tls"],
  },
};
const BEARER_TYPE = {
  type: "http_bearer",
  description: "A bearer token.",
  data_schema: { type: "object", properties: { token: { type: "string", minLength: 1 } }, required: ["token"] },
};

describe("credentials", () => {
  it("builds a write-only form from the type's schema and sends the data", async () => {
    const { calls } = mockFetch({
      "GET /api/credential-types": [SMTP_TYPE, BEARER_TYPE],
      "GET /api/credentials": { items: [] },
      "POST /api/credentials": { status: 201, body: { id: "c1", name: "Sales mailbox", type: "smtp", created_at: "", updated_at: "" } },
    });
    const user = userEvent.setup();
    renderSettings("/settings/credentials");
    expect(screen.getByText(/never shown again/)).toBeInTheDocument();
    await user.click(await screen.findByRole("button", { name: "Add credential" }));
    const dialog = screen.getByRole("dialog", { name: "Add credential" });
    await user.selectOptions(within(dialog).getByLabelText("Type"), "smtp");
    await user.type(within(dialog).getByLabelText("Name"), "Sales mailbox");

    const password = within(dialog).getByLabelText("Password (optional)");
    expect(password).toHaveAttribute("type", "password");
    expect(password).toHaveValue("");
    expect(within(dialog).getByLabelText("Host")).toHaveAttribute("type", "text");
    expect(within(dialog).getByLabelText("Port")).toHaveAttribute("type", "number");
    expect(within(dialog).getByLabelText("Username (optional)")).toHaveAttribute("type", "text");

    await user.type(within(dialog).getByLabelText("Host"), "smtp.sunrise.test");
    await user.type(within(dialog).getByLabelText("Port"), "587");
    await user.selectOptions(within(dialog).getByLabelText("TLS"), "starttls");
    await user.type(password, "s3cret!");
    await user.click(within(dialog).getByRole("button", { name: "Save credential" }));

    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({
      name: "Sales mailbox",
      type: "smtp",
      data: { host: "smtp.sunrise.test", port: 587, tls: "starttls", password: "s3cret!" },
    });
  });

  it("makes token fields password inputs", async () => {
    mockFetch({ "GET /api/credential-types": [BEARER_TYPE], "GET /api/credentials": { items: [] } });
    const user = userEvent.setup();
    renderSettings("/settings/credentials");
    await user.click(await screen.findByRole("button", { name: "Add credential" }));
    await user.selectOptions(screen.getByLabelText("Type"), "http_bearer");
    expect(screen.getByLabelText("Token")).toHaveAttribute("type", "password");
  });

  it("replaces the values of a credential with empty fields, and renames without data", async () => {
    const { calls } = mockFetch({
      "GET /api/credential-types": [BEARER_TYPE],
      "GET /api/credentials": { items: [{ id: "c7", name: "CRM token", type: "http_bearer", created_at: "2026-01-01T00:00:00Z", updated_at: "2026-01-01T00:00:00Z" }] },
      "PUT /api/credentials/c7": { id: "c7", name: "CRM", type: "http_bearer", created_at: "", updated_at: "" },
    });
    const user = userEvent.setup();
    renderSettings("/settings/credentials");
    await user.click(await screen.findByRole("button", { name: "Edit CRM token" }));
    const token = screen.getByLabelText("Token");
    expect(token).toHaveValue("");
    expect(token).toHaveAttribute("type", "password");
    await user.type(token, "new-token");
    await user.click(screen.getByRole("button", { name: "Replace values" }));
    await waitFor(() => expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ data: { token: "new-token" } }));
  });

  it("lets viewers see the list but not change it", async () => {
    fakeAuth.role = "viewer";
    mockFetch({
      "GET /api/credential-types": [BEARER_TYPE],
      "GET /api/credentials": { items: [{ id: "c7", name: "CRM token", type: "http_bearer", created_at: "", updated_at: "" }] },
    });
    renderSettings("/settings/credentials");
    expect(await screen.findByText("CRM token")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Add credential" })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Edit CRM token" })).not.toBeInTheDocument();
    expect(screen.getByText(/Only admins and owners can add, replace or delete them/)).toBeInTheDocument();
  });

  it("shows a 403 from saving inside the dialog", async () => {
    mockFetch({
      "GET /api/credential-types": [BEARER_TYPE],
      "GET /api/credentials": { items: [] },
      "POST /api/credentials": forbidden("this needs the admin role"),
    });
    const user = userEvent.setup();
    renderSettings("/settings/credentials");
    await user.click(await screen.findByRole("button", { name: "Add credential" }));
    const dialog = screen.getByRole("dialog");
    await user.selectOptions(within(dialog).getByLabelText("Type"), "http_bearer");
    await user.type(within(dialog).getByLabelText("Name"), "CRM");
    await user.type(within(dialog).getByLabelText("Token"), "t");
    await user.click(within(dialog).getByRole("button", { name: "Save credential" }));
    expect(await within(dialog).findByRole("alert")).toHaveTextContent("this needs the admin role");
  });
});

describe("security: MFA", () => {
  it("sets up MFA: QR code and secret, then the code, then the recovery codes once", async () => {
    const codes = Array.from({ length: 10 }, (_, i) => `aaaa-bbbb-cccc-${String(i).padStart(4, "0")}`);
    const { calls } = mockFetch({
      "GET /api/auth/sessions": { items: [] },
      "POST /api/auth/mfa/setup": {
        secret: "JBSWY3DPEHPK3PXP",
        otpauth_url: "otpauth://totp/AutoMatrix:pat@sunrise.test?secret=JBSWY3DPEHPK3PXP&issuer=AutoMatrix",
      },
      "POST /api/auth/mfa/enable": ({ body }: Call) =>
        (body as { code: string }).code === "123456"
          ? { body: { recovery_codes: codes } }
          : { status: 422, body: { error: { code: "VALIDATION_ERROR", message: "the code is wrong", details: [{ path: "code", issue: "does not match" }] } } },
    });
    const user = userEvent.setup();
    renderSettings("/settings/security");
    expect(screen.getByText(/MFA is off/)).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Set up MFA" }));

    const qr = await screen.findByRole("img", { name: /QR code/ });
    expect(qr.getAttribute("src")).toMatch(/^data:image\//);
    expect(screen.getByTestId("mfa-secret")).toHaveTextContent("JBSW Y3DP EHPK 3PXP");

    await user.type(screen.getByLabelText("Authentication code"), "000000");
    await user.click(screen.getByRole("button", { name: "Enable" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("the code is wrong");

    await user.clear(screen.getByLabelText("Authentication code"));
    await user.type(screen.getByLabelText("Authentication code"), "123 456");
    await user.click(screen.getByRole("button", { name: "Enable" }));

    const list = await screen.findByTestId("recovery-codes");
    expect(within(list).getAllByRole("listitem")).toHaveLength(10);
    expect(list).toHaveTextContent(codes[0]);
    expect(screen.getByRole("button", { name: "Copy codes" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Download as text" })).toBeInTheDocument();
    expect(calls.filter((c) => c.path === "/api/auth/mfa/enable").map((c) => c.body)).toEqual([{ code: "000000" }, { code: "123456" }]);
  });

  it("disables MFA with a code or a recovery code", async () => {
    fakeAuth.mfaEnabled = true;
    const { calls } = mockFetch({ "GET /api/auth/sessions": { items: [] }, "POST /api/auth/mfa/disable": { status: 204 } });
    const user = userEvent.setup();
    renderSettings("/settings/security");
    await user.type(screen.getByLabelText("Code or recovery code"), "abcd-efgh-ijkl-mnop");
    await user.click(screen.getByRole("button", { name: "Disable" }));
    await waitFor(() => expect(calls.find((c) => c.path === "/api/auth/mfa/disable")?.body).toEqual({ recovery_code: "abcd-efgh-ijkl-mnop" }));
  });

  it("signs out another session and changes the password", async () => {
    const { calls } = mockFetch({
      "GET /api/auth/sessions": {
        items: [
          { id: "s1", created_at: "2026-12-01T00:00:00Z", refreshed_at: "2026-12-01T00:00:00Z", expires_at: "2027-01-01T00:00:00Z", current: true },
          { id: "s2", created_at: "2026-11-01T00:00:00Z", refreshed_at: "2026-11-02T00:00:00Z", expires_at: "2026-12-31T00:00:00Z", current: false },
        ],
      },
      "DELETE /api/auth/sessions/s2": { status: 204 },
      "POST /api/auth/change-password": { status: 204 },
    });
    const user = userEvent.setup();
    renderSettings("/settings/security");
    expect(await screen.findByText("This browser")).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Sign out" }));
    await user.click(screen.getByRole("button", { name: "Sign it out" }));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE" && c.path === "/api/auth/sessions/s2")).toBe(true));

    await user.type(screen.getByLabelText("Current password"), "old-password");
    await user.type(screen.getByLabelText("New password"), "new-password-1");
    await user.type(screen.getByLabelText("New password again"), "new-password-1");
    await user.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByText(/Your password was changed/)).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/api/auth/change-password")?.body).toEqual({
      current_password: "old-password",
      new_password: "new-password-1",
    });
  });
});

describe("members", () => {
  const members = {
    items: [
      { user_id: "00000000-0000-0000-0000-0000000000bb", email: "pat@sunrise.test", name: "Pat Admin", role: "admin", joined_at: "2026-01-01T00:00:00Z" },
      { user_id: "u-owner", email: "olive@sunrise.test", name: "Olive Owner", role: "owner", joined_at: "2026-01-01T00:00:00Z" },
      { user_id: "u-ed", email: "eddie@sunrise.test", name: "Eddie Editor", role: "editor", joined_at: "2026-02-01T00:00:00Z" },
    ],
  };

  it("lets an admin change roles (not owners') and shows the 403 in place", async () => {
    const { calls } = mockFetch({
      [`GET /api/orgs/${ORG_ID}/members`]: members,
      [`GET /api/orgs/${ORG_ID}/invitations`]: { items: [] },
      [`PUT /api/orgs/${ORG_ID}/members/u-ed`]: forbidden("only an owner can grant the owner role"),
    });
    const user = userEvent.setup();
    renderSettings("/settings/members");
    const select = await screen.findByLabelText("Role of Eddie Editor");
    expect(screen.queryByLabelText("Role of Olive Owner")).not.toBeInTheDocument();
    expect((within(select).getAllByRole("option") as HTMLOptionElement[]).map((o) => o.value)).toEqual(["viewer", "editor", "admin"]);
    await user.selectOptions(select, "admin");
    expect(await screen.findByText("only an owner can grant the owner role")).toBeInTheDocument();
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ role: "admin" });
    // The organization itself is for owners.
    expect(screen.getByText(/Only owners can rename the organization/)).toBeInTheDocument();
  });

  it("explains an MFA_REQUIRED refusal and points to Security", async () => {
    fakeAuth.role = "viewer";
    mockFetch({
      [`GET /api/orgs/${ORG_ID}/members`]: { status: 403, body: { error: { code: "MFA_REQUIRED", message: "this organization requires multi-factor authentication" } } },
    });
    renderSettings("/settings/members");
    expect(await screen.findByRole("alert")).toHaveTextContent("requires multi-factor authentication");
    expect(screen.getByRole("link", { name: "Set it up under Security" })).toHaveAttribute("href", "/settings/security");
    expect(screen.getByText(/Only admins and owners can add, invite, change or remove members/)).toBeInTheDocument();
    expect(screen.queryByLabelText("Email to invite")).not.toBeInTheDocument();
  });

  it("creates an invitation and shows its code once", async () => {
    const { calls } = mockFetch({
      [`GET /api/orgs/${ORG_ID}/members`]: members,
      [`GET /api/orgs/${ORG_ID}/invitations`]: { items: [] },
      [`POST /api/orgs/${ORG_ID}/invitations`]: {
        status: 201,
        body: { id: "i1", email: "new@sunrise.test", role: "viewer", invited_by: "x", expires_at: "2026-12-10T00:00:00Z", created_at: "", token: "TOKEN-123" },
      },
    });
    const user = userEvent.setup();
    renderSettings("/settings/members");
    await user.type(await screen.findByLabelText("Email to invite"), "new@sunrise.test");
    await user.selectOptions(screen.getByLabelText("Role for the invitee"), "viewer");
    await user.click(screen.getByRole("button", { name: "Create invitation" }));
    expect(await screen.findByTestId("new-invitation-link")).toHaveTextContent(`${location.origin}/invite/TOKEN-123`);
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ email: "new@sunrise.test", role: "viewer" });
  });

  it("lets owners change the organization name and require MFA", async () => {
    fakeAuth.role = "owner";
    fakeAuth.mfaEnabled = true;
    const { calls } = mockFetch({
      [`GET /api/orgs/${ORG_ID}/members`]: members,
      [`GET /api/orgs/${ORG_ID}/invitations`]: { items: [] },
      [`PUT /api/orgs/${ORG_ID}`]: { id: ORG_ID, name: "Sunrise Auto", role: "owner", require_mfa: true, created_at: "", updated_at: "" },
    });
    const user = userEvent.setup();
    renderSettings("/settings/members");
    const name = screen.getByLabelText("Organization name");
    await user.clear(name);
    await user.type(name, "Sunrise Auto");
    await user.click(screen.getByRole("checkbox", { name: /Require MFA/ }));
    await user.click(screen.getByRole("button", { name: "Save organization" }));
    await waitFor(() => expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ name: "Sunrise Auto", require_mfa: true }));
  });
});

describe("AI", () => {
  it("shows the month's spend against the budget and saves a new budget", async () => {
    const { calls } = mockFetch({
      "GET /api/ai/budget": { monthly_usd: 100, alert_at: 0.8, spent_usd: 85, remaining_usd: 15, alerting: true, exhausted: false, updated_at: "2026-12-01T00:00:00Z" },
      "PUT /api/ai/budget": { monthly_usd: 150, alert_at: 0.9, spent_usd: 85, remaining_usd: 65, alerting: false, exhausted: false, updated_at: "2026-12-03T00:00:00Z" },
      "GET /api/ai/usage": { total_cost_usd: 85, input_tokens: 1000, output_tokens: 500, calls: 12, group_by: "model", since: "", until: "", items: [{ key: "gpt-4o-mini", cost_usd: 85, input_tokens: 1000, output_tokens: 500, calls: 12 }] },
      "GET /api/ai/routes": { items: [] },
      "GET /api/credentials": { items: [] },
    });
    const user = userEvent.setup();
    renderSettings("/settings/ai");
    const bar = await screen.findByRole("progressbar", { name: "Budget used" });
    expect(bar).toHaveAttribute("aria-valuenow", "85");
    expect(screen.getByText(/passed the alert level/)).toBeInTheDocument();
    expect(await screen.findByText("gpt-4o-mini")).toBeInTheDocument();
    const monthly = screen.getByLabelText("Monthly budget (USD)");
    await user.clear(monthly);
    await user.type(monthly, "150");
    const alertAt = screen.getByLabelText("Alert at (% of budget)");
    await user.clear(alertAt);
    await user.type(alertAt, "90");
    await user.click(screen.getByRole("button", { name: "Save budget" }));
    await waitFor(() => expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ monthly_usd: 150, alert_at: 0.9 }));
  });

  it("saves a route from the form", async () => {
    const { calls } = mockFetch({
      "GET /api/ai/budget": { monthly_usd: null, alert_at: null, spent_usd: 0, remaining_usd: null, alerting: false, exhausted: false, updated_at: null },
      "GET /api/ai/usage": { total_cost_usd: 0, input_tokens: 0, output_tokens: 0, calls: 0, group_by: "model", since: "", until: "", items: [] },
      "GET /api/ai/routes": { items: [] },
      "GET /api/credentials": { items: [{ id: "cred-openai", name: "OpenAI", type: "openai", created_at: "", updated_at: "" }, { id: "cred-smtp", name: "Mail", type: "smtp", created_at: "", updated_at: "" }] },
      "PUT /api/ai/routes/default": { status: 201, body: {} },
    });
    const user = userEvent.setup();
    renderSettings("/settings/ai");
    await user.click(await screen.findByRole("button", { name: "Add route" }));
    const dialog = screen.getByRole("dialog", { name: "Add route" });
    expect(within(dialog).getByLabelText("Alias")).toHaveValue("default");
    const credSelect = within(dialog).getByLabelText("Provider credential (target 1)");
    expect(within(credSelect).queryByText(/Mail/)).not.toBeInTheDocument();
    await user.type(within(dialog).getByLabelText("Model (target 1)"), "gpt-4o-mini");
    const input = within(dialog).getByLabelText("Input $ / million tokens");
    await user.clear(input);
    await user.type(input, "0.15");
    await user.click(within(dialog).getByRole("button", { name: "Save route" }));
    await waitFor(() =>
      expect(calls.find((c) => c.method === "PUT")?.body).toEqual({
        strategy: "fallback",
        targets: [{ credential_id: "cred-openai", model: "gpt-4o-mini", input_usd_per_mtok: 0.15, output_usd_per_mtok: 0 }],
      }),
    );
  });
});
