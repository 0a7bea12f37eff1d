// Test helpers for the settings screens: a fake signed-in caller, a fetch stub answering per
// method and path, and a render inside the router and query client.
import type { ReactNode } from "react";
import { render } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { vi } from "vitest";
import SettingsPage from "./SettingsPage";

export interface Call {
  method: string;
  path: string;
  body: unknown;
}

type Handler = (call: Call) => { status?: number; body?: unknown } | undefined;

/** `{status, body?}` is a full answer; anything else is a 200 body. */
function isAnswer(v: unknown): v is { status: number; body?: unknown } {
  return (
    typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as { status?: unknown }).status === "number" &&
    Object.keys(v).every((k) => k === "status" || k === "body")
  );
}

/** Stubs fetch: `routes` maps "METHOD /path" (no query) to an answer or a function of the call. */
export function stubFetch(routes: Record<string, unknown | Handler>) {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(String(input), "http://localhost");
      const method = init?.method ?? "GET";
      const call: Call = { method, path: url.pathname, body: init?.body ? JSON.parse(String(init.body)) : undefined };
      calls.push(call);
      const route = routes[`${method} ${url.pathname}`];
      let answer: { status?: number; body?: unknown } | undefined;
      if (typeof route === "function") answer = (route as Handler)(call);
      else if (isAnswer(route)) answer = route;
      else if (route !== undefined) answer = { body: route };
      if (!answer) answer = { status: 404, body: { error: { code: "NOT_FOUND", message: `no stub for ${method} ${url.pathname}` } } };
      const status = answer.status ?? 200;
      return new Response(status === 204 ? null : JSON.stringify(answer.body ?? null), {
        status,
        headers: { "Content-Type": "application/json" },
      });
    }),
  );
  return calls;
}

export function forbidden(message = "this needs the admin role") {
  return { status: 403, body: { error: { code: "FORBIDDEN", message } } };
}

export function renderSettings(path: string, extra?: ReactNode) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path="/settings/*" element={<SettingsPage />} />
        </Routes>
        {extra}
      </MemoryRouter>
    </QueryClientProvider>,
  );
}
