import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import type { NodeDef, NodeType } from "../../api/types";
import { nodeType } from "../../test/nodeTypes";
import { ConfigPanel } from "./ConfigPanel";

const http: NodeType = nodeType({
  type: "http.request",
  display_name: "HTTP request",
  category: "http",
  description: "Calls an HTTP API.",
  config_schema: {
    type: "object",
    required: ["url"],
    properties: {
      url: { type: "string", description: "Absolute http:// or https:// URL." },
      method: { enum: ["GET", "POST"], default: "GET" },
      timeout_ms: { type: "integer", default: 30000 },
      fail_on_status: { type: "boolean", default: true },
      headers: { type: "object", description: "Request headers." },
    },
  },
  side_effects: true,
  docs: "Sends a request.",
});

function Harness({ initial, onChange, onRename }: { initial: NodeDef; onChange: (n: NodeDef) => void; onRename?: (id: string) => string | undefined }) {
  const [node, setNode] = useState(initial);
  return (
    <ConfigPanel
      node={node}
      nodeType={http}
      problems={["config: \"url\" is a required property"]}
      onChange={(n) => {
        setNode(n);
        onChange(n);
      }}
      onRename={onRename ?? (() => undefined)}
      onDelete={() => {}}
      onClose={() => {}}
    />
  );
}

const node: NodeDef = { id: "crm", type: "http.request", config: { url: "https://a.test", method: "GET" } };

describe("ConfigPanel", () => {
  it("generates a form from the schema, with required marks, hints and the expression help", () => {
    render(<Harness initial={node} onChange={() => {}} />);
    expect(screen.getByLabelText("url")).toHaveValue("https://a.test");
    expect(screen.getByLabelText("url")).toHaveAttribute("aria-required", "true");
    expect(screen.getByLabelText("method")).toHaveValue("GET");
    expect(screen.getByLabelText("timeout_ms")).toHaveValue(null);
    expect(screen.getByLabelText("fail_on_status")).toBeChecked();
    expect(screen.getByText("Absolute http:// or https:// URL.")).toBeInTheDocument();
    expect(screen.getByText(/\{\{ \$json\.field \}\}/)).toBeInTheDocument();
    expect(screen.getByText("Calls an HTTP API.")).toBeInTheDocument();
    expect(screen.getByRole("alert")).toHaveTextContent("url");
  });

  it("changes the config as fields are edited", () => {
    const onChange = vi.fn();
    render(<Harness initial={node} onChange={onChange} />);
    fireEvent.change(screen.getByLabelText("url"), { target: { value: "https://b.test/{{ $json.id }}" } });
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ config: { url: "https://b.test/{{ $json.id }}", method: "GET" } }));
    fireEvent.change(screen.getByLabelText("method"), { target: { value: "POST" } });
    expect(onChange.mock.lastCall![0].config.method).toBe("POST");
    fireEvent.change(screen.getByLabelText("timeout_ms"), { target: { value: "5000" } });
    expect(onChange.mock.lastCall![0].config.timeout_ms).toBe(5000);
    fireEvent.click(screen.getByLabelText("fail_on_status"));
    expect(onChange.mock.lastCall![0].config.fail_on_status).toBe(false);
  });

  it("shows JSON errors in place and applies the value once it parses", () => {
    const onChange = vi.fn();
    render(<Harness initial={node} onChange={onChange} />);
    const headers = screen.getByLabelText("headers");
    fireEvent.change(headers, { target: { value: '{"X-Key": ' } });
    expect(screen.getByText(/Not valid JSON/)).toBeInTheDocument();
    expect(onChange).not.toHaveBeenCalled();
    fireEvent.change(headers, { target: { value: '{"X-Key": "abc"}' } });
    expect(screen.queryByText(/Not valid JSON/)).not.toBeInTheDocument();
    expect(onChange.mock.lastCall![0].config.headers).toEqual({ "X-Key": "abc" });
  });

  it("edits the name, error handling, and renames through the callback", () => {
    const onChange = vi.fn();
    const onRename = vi.fn((id: string) => (id === "taken" ? "Another node already has the ID taken." : undefined));
    render(<Harness initial={node} onChange={onChange} onRename={onRename} />);
    fireEvent.change(screen.getByLabelText("Node name"), { target: { value: "Push to CRM" } });
    expect(onChange.mock.lastCall![0].name).toBe("Push to CRM");
    fireEvent.change(screen.getByLabelText("When this step fails"), { target: { value: "route" } });
    expect(onChange.mock.lastCall![0].on_error).toBe("route");
    fireEvent.change(screen.getByLabelText("Retry: max attempts"), { target: { value: "3" } });
    expect(onChange.mock.lastCall![0].retry).toEqual({ max_attempts: 3 });
    const id = screen.getByLabelText("Node ID");
    fireEvent.change(id, { target: { value: "taken" } });
    fireEvent.blur(id);
    expect(onRename).toHaveBeenCalledWith("taken");
    expect(screen.getByText("Another node already has the ID taken.")).toBeInTheDocument();
  });

  it("is read-only for viewers", () => {
    render(
      <ConfigPanel node={node} nodeType={http} readOnly onChange={() => {}} onRename={() => undefined} onDelete={() => {}} onClose={() => {}} />,
    );
    expect(screen.getByLabelText("url")).toBeDisabled();
    expect(screen.getByLabelText("Node name")).toBeDisabled();
    expect(screen.queryByRole("button", { name: "Delete node" })).not.toBeInTheDocument();
  });
});
