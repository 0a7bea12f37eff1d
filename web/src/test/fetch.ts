// A fetch stub for component tests, answering per method and path and recording every call.
//   const { calls } = mockFetch({ "GET /api/things": { items: [] }, "DELETE /api/things/1": reply(204) });
import { vi } from "vitest";

export interface Call {
  method: string;
  /** The address as the app asked it (with its query string). */
  url: string;
  path: string;
  params: URLSearchParams;
  body: unknown;
}

/** An answer with a status other than 200. A plain `{ status?, body? }` object means the same. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body?: unknown,
  ) {}
}
export const reply = (status: number, body?: unknown) => new Reply(status, body);

/** A JSON body (200), a `reply(...)`, or a function of the call answering either. */
export type Answer = ((call: Call) => unknown) | Reply | Record<string, unknown> | unknown[] | string | number | boolean | null;
/** "METHOD /path" (no query string) → its answer. Anything else is a 404. */
export type FetchRoutes = Record<string, Answer>;

/** `{ status?, body? }` (at least one) and nothing else: a full answer rather than a body. */
function isReplyLike(v: unknown): v is { status?: number; body?: unknown } {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  const status = (v as { status?: unknown }).status;
  return keys.length > 0 && keys.every((k) => k === "status" || k === "body") && (status === undefined || typeof status === "number");
}

function toReply(answer: unknown): Reply {
  if (answer instanceof Reply) return answer;
  if (isReplyLike(answer)) return new Reply(answer.status ?? 200, answer.body);
  return new Reply(200, answer);
}

export function forbidden(message = "this needs the admin role") {
  return reply(403, { error: { code: "FORBIDDEN", message } });
}

/** Stubs the global fetch; returns the mock and the calls it received, in order. */
export function mockFetch(routes: FetchRoutes) {
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
    let answer: unknown = key in routes ? routes[key] : reply(404, { error: { code: "NOT_FOUND", message: `no mock for ${key}` } });
    if (typeof answer === "function") answer = (answer as (c: Call) => unknown)(call);
    const r = toReply(answer);
    return new Response(r.body === undefined || r.status === 204 ? null : JSON.stringify(r.body), {
      status: r.status,
      headers: { "Content-Type": "application/json" },
    });
  });
  vi.stubGlobal("fetch", fn);
  return { fn, calls };
}
