// A read-only graph of a definition: an execution's (coloured by step status) or a template's
// preview.
import { Background, Controls, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useMemo } from "react";
import { catalogIndex, useNodeTypes } from "../api/catalog";
import type { Definition } from "../api/types";
import { toFlow } from "./convert";
import { nodeTypes } from "./WorkflowNode";

export function GraphView({
  definition,
  statuses,
  onNodeClick,
  className = "h-80",
}: {
  definition: Definition;
  /** Step status by node id. */
  statuses?: Record<string, string>;
  onNodeClick?: (nodeId: string) => void;
  className?: string;
}) {
  const catalog = useNodeTypes();
  const flow = useMemo(() => {
    const f = toFlow(definition, catalogIndex(catalog.data));
    return {
      nodes: f.nodes.map((n) => ({ ...n, data: { ...n.data, status: statuses?.[n.id] }, draggable: false, connectable: false })),
      edges: f.edges,
    };
  }, [definition, catalog.data, statuses]);
  return (
    <div className={`rounded-md border border-slate-200 bg-slate-50 ${className}`}>
      <ReactFlowProvider>
        <ReactFlow
          nodes={flow.nodes}
          edges={flow.edges}
          nodeTypes={nodeTypes}
          fitView
          minZoom={0.1}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={!!onNodeClick}
          onNodeClick={onNodeClick ? (_, n) => onNodeClick(n.id) : undefined}
        >
          <Background />
          <Controls showInteractive={false} />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}
