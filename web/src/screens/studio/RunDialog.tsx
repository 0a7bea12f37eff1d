// Starting a run from the studio: the input as JSON and the dry-run switch.
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";
import { api } from "../../api/client";
import { DialogActions } from "../../components/actions";
import { Dialog, ErrorBox, TextArea } from "../../components/ui";

export interface Started {
  execution_id: string;
  status: string;
  dry_run: boolean;
}

export function RunDialog({ workflowId, onClose, onStarted }: { workflowId: string; onClose: () => void; onStarted: (s: Started) => void }) {
  const [input, setInput] = useState("{}");
  const [dryRun, setDryRun] = useState(false);
  const [parseError, setParseError] = useState<string | undefined>();
  const start = useMutation({
    mutationFn: (body: { input: unknown; dry_run: boolean }) => api<Started>(`/api/workflows/${workflowId}/execute`, { body }),
    onSuccess: onStarted,
  });
  const submit = () => {
    let value: unknown = {};
    if (input.trim() !== "") {
      try {
        value = JSON.parse(input);
      } catch (e) {
        setParseError(`Not valid JSON: ${(e as Error).message}`);
        return;
      }
    }
    setParseError(undefined);
    start.mutate({ input: value, dry_run: dryRun });
  };
  return (
    <Dialog title="Run workflow" onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <TextArea
          label="Input (JSON)"
          rows={8}
          value={input}
          error={parseError}
          spellCheck={false}
          hint="What the trigger receives: {{ $trigger }} and the first step's {{ $json }}. For example {&quot;body&quot;: {&quot;email&quot;: &quot;jo@example.com&quot;}}."
          onChange={(e) => {
            setInput(e.target.value);
            setParseError(undefined);
          }}
        />
        <label className="flex items-start gap-2 text-sm text-slate-700">
          <input type="checkbox" className="mt-0.5 h-4 w-4" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} />
          <span>
            <span className="font-medium">Dry run</span>
            <span className="block text-xs text-slate-500">Steps that send or change something (email, SMS, HTTP calls…) only show what they would have done.</span>
          </span>
        </label>
        <ErrorBox error={start.error} title="The run did not start" />
        <DialogActions label="Start run" pendingLabel="Starting…" pending={start.isPending} onCancel={onClose} />
      </form>
    </Dialog>
  );
}
