// The one way the UI talks to the server: JSON over fetch, the bearer from the session, the
// organization header, one refresh on an expired token, and every error in the API's shape.

export interface ErrorDetail {
  path: string;
  issue: string;
}

/** An error answered by the API (`{"error": {code, message, details}}`) or by the network. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];
  constructor(status: number, code: string, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export interface Tokens {
  access_token: string;
  refresh_token: string;
  token_type?: string;
  expires_in?: number;
}

const STORAGE_KEY = "automatrix.session";
const ORG_KEY = "automatrix.organization";

type Listener = (tokens: Tokens | null) => void;
const listeners = new Set<Listener>();

export const session = {
  get(): Tokens | null {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    try {
      return JSON.parse(raw) as Tokens;
    } catch {
      return null;
    }
  },
  set(tokens: Tokens | null) {
    if (tokens) localStorage.setItem(STORAGE_KEY, JSON.stringify(tokens));
    else localStorage.removeItem(STORAGE_KEY);
    listeners.forEach((l) => l(tokens));
  },
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  organization(): string | null {
    return localStorage.getItem(ORG_KEY);
  },
  setOrganization(id: string | null) {
    if (id) localStorage.setItem(ORG_KEY, id);
    else localStorage.removeItem(ORG_KEY);
  },
};

export interface RequestOptions {
  method?: string;
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  /** Send no bearer (sign-in, register, refresh). */
  anonymous?: boolean;
  signal?: AbortSignal;
}

export function withQuery(path: string, query?: RequestOptions["query"]): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function toError(res: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: fall through to the status text
  }
  const err = (body as { error?: { code?: string; message?: string; details?: ErrorDetail[] } } | null)
    ?.error;
  if (err && typeof err.code === "string") {
    return new ApiError(res.status, err.code, err.message ?? err.code, err.details ?? []);
  }
  return new ApiError(res.status, "HTTP_" + res.status, `The server answered ${res.status} ${res.statusText}`.trim());
}

let refreshing: Promise<boolean> | null = null;

/** Exchanges the refresh token once, however many requests found the access token expired. */
async function refresh(): Promise<boolean> {
  const current = session.get();
  if (!current) return false;
  refreshing ??= (async () => {
    try {
      const res = await fetch("/api/auth/refresh", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ refresh_token: current.refresh_token }),
      });
      if (!res.ok) {
        session.set(null);
        return false;
      }
      session.set((await res.json()) as Tokens);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function send(path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const tokens = opts.anonymous ? null : session.get();
  if (tokens) headers.Authorization = `Bearer ${tokens.access_token}`;
  const org = session.organization();
  if (org && !opts.anonymous) headers["X-Organization-Id"] = org;
  try {
    return await fetch(withQuery(path, opts.query), {
      method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, "NETWORK_ERROR", "The server could not be reached. Check your connection and try again.");
  }
}

/** Calls the API; resolves with the JSON answer (undefined for 204), rejects with an ApiError. */
export async function api<T = unknown>(path: string, opts: RequestOptions = {}): Promise<T> {
  let res = await send(path, opts);
  if (res.status === 401 && !opts.anonymous && session.get()) {
    if (await refresh()) res = await send(path, opts);
  }
  if (!res.ok) throw await toError(res);
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A WebSocket URL on this origin for a path that takes a one-use ticket. */
export async function socketUrl(path: string): Promise<string> {
  const { ticket } = await api<{ ticket: string }>("/api/auth/ws-ticket", { method: "POST" });
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const sep = path.includes("?") ? "&" : "?";
  return `${proto}//${location.host}${path}${sep}ticket=${encodeURIComponent(ticket)}`;
}
