// The selected node's outgoing connections as a list: see, remove and add them without dragging
// (keyboard users, and a clear view of which port goes where).
import { useId, useState } from "react";
import { Button } from "../../components/ui";

export interface Outgoing {
  port: string;
  to: string;
}

export function Connections({
  ports,
  outgoing,
  targets,
  readOnly,
  onConnect,
  onDisconnect,
}: {
  ports: string[];
  outgoing: Outgoing[];
  /** Nodes this one may connect to: id and what to call it. */
  targets: { id: string; label: string }[];
  readOnly?: boolean;
  onConnect: (port: string, to: string) => void;
  onDisconnect: (port: string, to: string) => void;
}) {
  const portId = useId();
  const toId = useId();
  const [port, setPort] = useState(ports[0] ?? "main");
  const [to, setTo] = useState("");
  const portNow = ports.includes(port) ? port : (ports[0] ?? "main");
  if (ports.length === 0) return null;
  return (
    <section className="space-y-2" aria-label="Connections">
      <h3 className="text-sm font-semibold text-slate-800">Next steps</h3>
      {outgoing.length === 0 ? (
        <p className="text-xs text-slate-500">Nothing runs after this step yet. Drag from its right edge to another node, or choose one below.</p>
      ) : (
        <ul className="space-y-1 text-sm">
          {outgoing.map((o) => (
            <li key={`${o.port}->${o.to}`} className="flex items-center justify-between gap-2 rounded border border-slate-200 px-2 py-1">
              <span className="min-w-0 truncate">
                {ports.length > 1 && <span className="mr-1 rounded bg-slate-100 px-1 font-mono text-xs">{o.port}</span>}→ <span className="font-mono">{o.to}</span>
              </span>
              {!readOnly && (
                <button
                  type="button"
                  className="text-xs text-red-700 hover:underline"
                  aria-label={`Remove connection ${o.port} to ${o.to}`}
                  onClick={() => onDisconnect(o.port, o.to)}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {!readOnly && targets.length > 0 && (
        <div className="flex items-end gap-2">
          {ports.length > 1 && (
            <div>
              <label htmlFor={portId} className="block text-xs text-slate-600">
                From port
              </label>
              <select id={portId} className="rounded-md border border-slate-300 px-1.5 py-1 text-sm" value={portNow} onChange={(e) => setPort(e.target.value)}>
                {ports.map((p) => (
                  <option key={p} value={p}>
                    {p}
                  </option>
                ))}
              </select>
            </div>
          )}
          <div className="min-w-0 flex-1">
            <label htmlFor={toId} className="block text-xs text-slate-600">
              Connect to
            </label>
            <select id={toId} className="w-full rounded-md border border-slate-300 px-1.5 py-1 text-sm" value={to} onChange={(e) => setTo(e.target.value)}>
              <option value="">Choose a node…</option>
              {targets.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.label}
                </option>
              ))}
            </select>
          </div>
          <Button
            variant="secondary"
            disabled={!to}
            onClick={() => {
              onConnect(portNow, to);
              setTo("");
            }}
          >
            Connect
          </Button>
        </div>
      )}
    </section>
  );
}
