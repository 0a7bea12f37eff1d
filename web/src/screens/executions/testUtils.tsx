// Test helpers for the executions screens: a fetch that answers per method and path, and a
// render inside a fresh query client and a memory router that shows the current address.
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router-dom";
import { vi } from "vitest";

export interface Call {
  method: string;
  url: string;
  path: string;
  params: URLSearchParams;
  body: unknown;
}

type Answer = ((call: Call) => unknown) | Reply | Record<string, unknown> | unknown[] | string | number | boolean | null;
/** Routes are "METHOD /path" (no query string); an answer is a JSON body, or `{status, body}` via `reply`. */
export type Routes_ = Record<string, Answer>;

export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}
export const reply = (status: number, body: unknown) => new Reply(status, body);

export function mockFetch(routes: Routes_) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const u = new URL(url, "http://localhost");
    const method = (init?.method ?? "GET").toUpperCase();
    const call: Call = {
      method,
      url,
      path: u.pathname,
      params: u.searchParams,
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
    };
    calls.push(call);
    const key = `${method} ${u.pathname}`;
    if (!(key in routes)) {
      return new Response(JSON.stringify({ error: { code: "NOT_FOUND", message: `no mock for ${key}` } }), { status: 404 });
    }
    let answer: unknown = routes[key];
    if (typeof answer === "function") answer = (answer as (c: Call) => unknown)(call);
    const r = answer instanceof Reply ? answer : new Reply(200, answer);
    return new Response(r.body === undefined ? null : JSON.stringify(r.body), {
      status: r.status,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fn);
  return { fn, calls };
}

function Where() {
  const loc = useLocation();
  return <output data-testid="location">{loc.pathname + loc.search}</output>;
}

export function renderAt(ui: ReactElement, { path, route }: { path: string; route: string }) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={[path]}>
        <Routes>
          <Route path={route} element={ui} />
          <Route path="*" element={<p>elsewhere</p>} />
        </Routes>
        <Where />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}
