// A node type for component and logic tests: only `type` is needed, the rest has plain defaults
// (display name = type, category = the type's prefix, one "main" output, not a trigger).
import type { NodeType } from "../api/types";

export function nodeType(partial: Partial<NodeType> & { type: string }): NodeType {
  return {
    display_name: partial.type,
    category: partial.type.split(".")[0],
    description: "",
    config_schema: { type: "object", properties: {} },
    outputs: ["main"],
    dynamic_outputs: false,
    is_trigger: false,
    code_fields: [],
    side_effects: false,
    examples: [],
    ...partial,
  };
}
