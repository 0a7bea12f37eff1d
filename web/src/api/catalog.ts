// The node catalog (GET /api/node-types): the palette, the config forms and each node's ports
// come from it. It changes only with the server, so it is fetched once per session.
import { useQuery } from "@tanstack/react-query";
import { api } from "./client";
import type { NodeType } from "./types";

export function useNodeTypes() {
  return useQuery({
    queryKey: ["node-types"],
    queryFn: () => api<NodeType[]>("/api/node-types"),
    staleTime: Infinity,
  });
}

export function catalogIndex(types: NodeType[] | undefined): Map<string, NodeType> {
  return new Map((types ?? []).map((t) => [t.type, t]));
}
