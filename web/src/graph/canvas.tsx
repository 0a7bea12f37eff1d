// What every workflow canvas shares, the studio's editable one and the read-only GraphView:
// our node component, fitting the graph into view on load, and the background and zoom controls.
import { Background, Controls, type ReactFlowProps } from "@xyflow/react";
import { nodeTypes } from "./WorkflowNode";

/** Fit the whole graph, never zooming in past 100%, with a little room around it. */
export const FIT_VIEW_OPTIONS = { maxZoom: 1, padding: 0.2 };

export const canvasProps = { nodeTypes, fitView: true, fitViewOptions: FIT_VIEW_OPTIONS } satisfies Partial<ReactFlowProps>;

/** The dotted background and the zoom buttons (no lock toggle); put inside <ReactFlow>. */
export function CanvasChrome() {
  return (
    <>
      <Background />
      <Controls showInteractive={false} fitViewOptions={FIT_VIEW_OPTIONS} />
    </>
  );
}
