// A flow.approval step waiting for a person: what it asks, an optional JSON answer, and the
// Approve / Reject buttons (editors and above). Errors (409 when someone decided first) in place.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api } from "../../api/client";
import type { StepLog } from "../../api/types";
import { Button, ErrorBox, TextArea, formatTime } from "../../components/ui";

function waitInfo(step?: StepLog): { message?: string; expiresAt?: string | null } {
  const wait = (step?.output_data as { wait?: { message?: unknown; expires_at?: unknown } } | null | undefined)?.wait;
  return {
    message: typeof wait?.message === "string" ? wait.message : undefined,
    expiresAt: typeof wait?.expires_at === "string" ? wait.expires_at : null,
  };
}

export function ApprovalPanel({
  executionId,
  nodeId,
  step,
  canDecide,
  onDecided,
}: {
  executionId: string;
  nodeId: string;
  step?: StepLog;
  canDecide: boolean;
  onDecided?: () => void;
}) {
  const queryClient = useQueryClient();
  const [data, setData] = useState("");
  const [parseError, setParseError] = useState<string | undefined>();
  const { message, expiresAt } = waitInfo(step);

  const decide = useMutation({
    mutationFn: ({ decision, body }: { decision: "approve" | "reject"; body: { data?: unknown } }) =>
      api(`/api/executions/${executionId}/steps/${encodeURIComponent(nodeId)}/${decision}`, { method: "POST", body }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["executions", "detail", executionId] });
      void queryClient.invalidateQueries({ queryKey: ["executions", "list"] });
      onDecided?.();
    },
  });

  const submit = (decision: "approve" | "reject") => {
    setParseError(undefined);
    const text = data.trim();
    let body: { data?: unknown } = {};
    if (text) {
      try {
        body = { data: JSON.parse(text) };
      } catch {
        setParseError('This is not valid JSON. Leave it empty, or write for example {"note": "ok"}.');
        return;
      }
    }
    decide.mutate({ decision, body });
  };

  return (
    <section aria-label={`Approval ${nodeId}`} className="rounded-md border border-amber-200 bg-amber-50 p-3">
      <p className="text-sm text-slate-800">
        <span className="font-mono font-semibold">{nodeId}</span> asks:{" "}
        <span className="font-medium">{message ?? "Approve or reject this step."}</span>
      </p>
      <p className="mt-0.5 text-xs text-slate-500">
        Waiting since {formatTime(step?.started_at)}
        {expiresAt ? ` · times out ${formatTime(expiresAt)}` : ""}
      </p>
      {canDecide ? (
        decide.isSuccess ? (
          <p role="status" className="mt-2 text-sm text-green-800">
            {decide.variables?.decision === "approve" ? "Approved" : "Rejected"}: the execution goes on.
          </p>
        ) : (
          <div className="mt-3 space-y-2">
            <TextArea
              label="Data"
              hint={'Optional JSON handed on as the step\'s output, e.g. {"note": "ok"}.'}
              rows={3}
              value={data}
              onChange={(e) => setData(e.target.value)}
              error={parseError}
            />
            <div className="flex gap-2">
              <Button onClick={() => submit("approve")} disabled={decide.isPending}>
                Approve
              </Button>
              <Button variant="danger" onClick={() => submit("reject")} disabled={decide.isPending}>
                Reject
              </Button>
            </div>
            <ErrorBox error={decide.error} title="The decision was not recorded" />
          </div>
        )
      ) : (
        <p className="mt-2 text-sm text-slate-600">An editor of this organization can approve or reject it.</p>
      )}
    </section>
  );
}
