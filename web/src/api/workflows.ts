// Workflow names by id, for screens that show runs or figures per workflow (the executions
// list, the dashboard): one cached request, shared by every screen that asks.
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { api } from "./client";
import type { Page, Workflow } from "./types";

/** Workflow names by id (GET /api/workflows, the first 200). */
export function useWorkflowNames() {
  const query = useQuery({
    queryKey: ["workflows", "names"],
    queryFn: () => api<Page<Workflow>>("/api/workflows", { query: { limit: 200 } }),
    staleTime: 60_000,
  });
  const names = useMemo(() => new Map<string, string>((query.data?.items ?? []).map((w) => [w.id, w.name])), [query.data]);
  /** Whether every workflow is in `names` (a missing one was deleted). */
  const complete = !!query.data && !query.data.next_cursor;
  return { ...query, names, complete };
}
