// JSON shown to people: pretty-printed, foldable.

/** Pretty JSON that can be folded away. */
export function JsonBlock({ label, value, open = true }: { label: string; value: unknown; open?: boolean }) {
  const empty = value === undefined || value === null;
  return (
    <details open={open && !empty} className="rounded-md border border-slate-200 bg-slate-50">
      <summary className="cursor-pointer select-none px-3 py-1.5 text-sm font-medium text-slate-700">{label}</summary>
      {empty ? (
        <p className="px-3 pb-2 text-sm text-slate-500">None</p>
      ) : (
        <pre className="max-h-80 overflow-auto border-t border-slate-200 px-3 py-2 font-mono text-xs text-slate-800">
          {JSON.stringify(value, null, 2)}
        </pre>
      )}
    </details>
  );
}
