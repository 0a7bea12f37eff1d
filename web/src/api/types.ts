// Shapes of the API's answers that the UI reads (the OpenAPI document at /api/openapi.json is
// the full reference).

export type Role = "viewer" | "editor" | "admin" | "owner";

export interface User {
  id: string;
  email: string;
  name: string;
  organization_id: string | null;
  mfa_enabled: boolean;
}

export interface Organization {
  id: string;
  name: string;
  role: Role;
  require_mfa: boolean;
  created_at: string;
  updated_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  config?: Record<string, unknown>;
  position?: { x: number; y: number };
  retry?: Record<string, unknown>;
  timeout_ms?: number;
  on_error?: string;
  [extra: string]: unknown;
}

export interface EdgeDef {
  from: string;
  to: string;
  output?: string;
}

export interface Definition {
  nodes: NodeDef[];
  edges: EdgeDef[];
  [extra: string]: unknown;
}

export interface Workflow {
  id: string;
  name: string;
  description?: string | null;
  definition: Definition;
  version: number;
  is_active: boolean;
  webhook_url?: string | null;
  created_at: string;
  updated_at: string;
  [extra: string]: unknown;
}

export interface NodeType {
  type: string;
  display_name: string;
  category: string;
  description: string;
  config_schema: JsonSchema;
  outputs: string[];
  dynamic_outputs: boolean;
  fan_out?: { body: string; done: string } | null;
  is_trigger: boolean;
  code_fields: string[];
  side_effects: boolean;
  examples: unknown[];
  docs?: string;
}

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  minimum?: number;
  maximum?: number;
  format?: string;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  [extra: string]: unknown;
}

export type ExecutionStatus = "pending" | "running" | "waiting" | "completed" | "failed" | "cancelled";

export interface Execution {
  id: string;
  workflow_id: string;
  workflow_version: number;
  status: ExecutionStatus;
  input_data?: unknown;
  output_data?: unknown;
  error_message?: string | null;
  dry_run?: boolean;
  started_at?: string | null;
  completed_at?: string | null;
  created_at: string;
  request_id?: string | null;
  [extra: string]: unknown;
}

export interface StepLog {
  node_id: string;
  node_type: string;
  status: string;
  attempt: number;
  input_data?: unknown;
  output_data?: unknown;
  error_message?: string | null;
  started_at?: string | null;
  completed_at?: string | null;
  duration_ms?: number | null;
  [extra: string]: unknown;
}

/** A credential type (GET /api/credentials/types): its name and the schema of its write-only data. */
export interface CredentialType {
  type: string;
  description: string;
  data_schema: JsonSchema;
}

/** A credential as the API answers it (GET /api/credentials): never its data. */
export interface Credential {
  id: string;
  name: string;
  type: string;
  created_at: string;
  updated_at: string;
}

/** AI usage totals over a period, grouped by `group_by` (GET /api/ai/usage). */
export interface AiUsage {
  total_cost_usd: number;
  input_tokens: number;
  output_tokens: number;
  calls: number;
  group_by: string;
  since: string;
  until: string;
  items: { key: string; cost_usd: number; input_tokens: number; output_tokens: number; calls: number }[];
}
