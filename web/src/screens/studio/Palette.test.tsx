import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { NodeType } from "../../api/types";
import { nodeType } from "../../test/nodeTypes";
import { DRAG_TYPE, Palette } from "./Palette";

const t = (type: string, display_name: string, category: string, description = ""): NodeType =>
  nodeType({ type, display_name, category, description, config_schema: { type: "object" }, is_trigger: category === "trigger" });

const types = [
  t("http.request", "HTTP Request", "http", "Calls an HTTP API"),
  t("trigger.manual", "Manual trigger", "trigger"),
  t("email.send", "Send email", "email", "Sends an email over SMTP"),
  t("transform.set", "Set fields", "transform"),
];

describe("Palette", () => {
  it("groups node types by category, triggers first, with their display names", () => {
    render(<Palette types={types} onAdd={() => {}} />);
    const palette = screen.getByRole("complementary", { name: "Node palette" });
    const headings = within(palette).getAllByRole("heading").map((h) => h.textContent);
    expect(headings).toEqual(["Triggers", "Transform", "HTTP", "Email"]);
    expect(palette.querySelector('[data-node-type="http.request"]')).toHaveTextContent("HTTP Request");
  });

  it("searches by name, type and description", () => {
    render(<Palette types={types} onAdd={() => {}} />);
    fireEvent.change(screen.getByLabelText("Search nodes"), { target: { value: "smtp" } });
    expect(screen.getAllByRole("button")).toHaveLength(1);
    expect(screen.getByRole("button", { name: /Send email/ })).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText("Search nodes"), { target: { value: "zzz" } });
    expect(screen.getByText(/No node matches/)).toBeInTheDocument();
  });

  it("adds by click and drags with the node type", () => {
    const onAdd = vi.fn();
    render(<Palette types={types} onAdd={onAdd} />);
    const item = screen.getByRole("button", { name: /HTTP Request/ });
    fireEvent.click(item);
    expect(onAdd).toHaveBeenCalledWith("http.request");
    const data: Record<string, string> = {};
    fireEvent.dragStart(item, { dataTransfer: { setData: (k: string, v: string) => (data[k] = v), effectAllowed: "" } });
    expect(data[DRAG_TYPE]).toBe("http.request");
    expect(item.closest("li")).toHaveAttribute("draggable", "true");
    expect(item).toHaveAccessibleName("HTTP Request");
  });
});
