import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { mockFetch, reply } from "../test/fetch";
import { session } from "../api/client";
import { AuthProvider } from "./AuthContext";
import { AcceptInvitationPage } from "./AcceptInvitation";

function renderInvite(token: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[`/invite/${token}`]}>
        <AuthProvider>
          <Routes>
            <Route path="/invite/:token" element={<AcceptInvitationPage />} />
            <Route path="/" element={<p>Home screen</p>} />
          </Routes>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe("accepting an invitation", () => {
  it("creates the account, signs it in and enters the organization", async () => {
    const { calls } = mockFetch({
      "POST /api/invitations/inv_abc/accept": reply(201, {
        organization_id: "org-9",
        user_id: "u-1",
        role: "editor",
        tokens: { access_token: "a", refresh_token: "r" },
      }),
      "GET /api/auth/me": { id: "u-1", email: "new@dealer.test", name: "Nia", organization_id: "org-9", mfa_enabled: false },
      "GET /api/orgs": { items: [] },
    });
    renderInvite("inv_abc");
    await userEvent.type(screen.getByLabelText("Name"), "Nia");
    await userEvent.type(screen.getByLabelText("Password"), "a good password");
    await userEvent.click(screen.getByRole("button", { name: "Create account and join" }));
    expect(await screen.findByText("Home screen")).toBeInTheDocument();
    const post = calls.find((c) => c.path === "/api/invitations/inv_abc/accept");
    expect(post?.body).toEqual({ name: "Nia", password: "a good password" });
    expect(session.get()?.access_token).toBe("a");
    expect(session.organization()).toBe("org-9");
  });

  it("explains a spent or unknown invitation in place", async () => {
    mockFetch({ "POST /api/invitations/inv_gone/accept": reply(404, { error: { code: "NOT_FOUND", message: "not found" } }) });
    renderInvite("inv_gone");
    await userEvent.type(screen.getByLabelText("Name"), "Nia");
    await userEvent.type(screen.getByLabelText("Password"), "a good password");
    await userEvent.click(screen.getByRole("button", { name: "Create account and join" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("unknown, withdrawn, already used or expired");
  });
});
