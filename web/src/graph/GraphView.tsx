// A read-only graph of a definition: an execution's (coloured by step status) or a template's
// preview. Nodes live in state, so a status change updates them in place: React Flow keeps
// their measured size and they stay visible (new node objects would be hidden until
// re-measured). Drawing waits for the node catalog, which knows each node's ports.
import { ReactFlow, ReactFlowProvider, useEdgesState, useNodesState } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useEffect, useMemo, useRef } from "react";
import { catalogIndex, useNodeTypes } from "../api/catalog";
import type { Definition, NodeType } from "../api/types";
import { Spinner } from "../components/ui";
import { toFlow, type FlowNode } from "./convert";
import { CanvasChrome, canvasProps } from "./canvas";

interface Props {
  definition: Definition;
  /** Step status by node id. */
  statuses?: Record<string, string>;
  onNodeClick?: (nodeId: string) => void;
  className?: string;
}

export function GraphView({ className = "h-80", ...props }: Props) {
  const catalog = useNodeTypes();
  return (
    <div className={`rounded-md border border-slate-200 bg-slate-50 ${className}`}>
      {catalog.isLoading ? (
        <div className="flex h-full items-center justify-center">
          <Spinner label="Drawing the graph…" />
        </div>
      ) : (
        <ReactFlowProvider>
          <Graph {...props} types={catalog.data} />
        </ReactFlowProvider>
      )}
    </div>
  );
}

function Graph({ definition, statuses, onNodeClick, types }: Omit<Props, "className"> & { types?: NodeType[] }) {
  const flow = useMemo(() => toFlow(definition, catalogIndex(types)), [definition, types]);
  const [nodes, setNodes, onNodesChange] = useNodesState<FlowNode>(flow.nodes);
  const [edges, setEdges, onEdgesChange] = useEdgesState(flow.edges);
  const latest = useRef(statuses);
  latest.current = statuses;

  useEffect(() => {
    setNodes(flow.nodes.map((n) => ({ ...n, draggable: false, connectable: false, data: { ...n.data, status: latest.current?.[n.id] } })));
    setEdges(flow.edges);
  }, [flow, setNodes, setEdges]);

  useEffect(() => {
    setNodes((current) =>
      current.map((n) => {
        const status = statuses?.[n.id];
        return n.data.status === status ? n : { ...n, data: { ...n.data, status } };
      }),
    );
  }, [statuses, setNodes]);

  return (
    <ReactFlow
      {...canvasProps}
      nodes={nodes}
      edges={edges}
      onNodesChange={onNodesChange}
      onEdgesChange={onEdgesChange}
      minZoom={0.1}
      nodesDraggable={false}
      nodesConnectable={false}
      elementsSelectable={!!onNodeClick}
      onNodeClick={onNodeClick ? (_, n) => onNodeClick(n.id) : undefined}
    >
      <CanvasChrome />
    </ReactFlow>
  );
}
