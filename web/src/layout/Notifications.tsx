// The bell in the header: failures, approvals waiting and budget alerts as they happen
// (WS /ws/notifications), each linking to what it is about.
import { useState } from "react";
import { Link } from "react-router-dom";
import { useSocket } from "../api/socket";

interface Notice {
  kind: string;
  message: string;
  execution_id?: string | null;
  at: string;
}

export function Notifications() {
  const [items, setItems] = useState<Notice[]>([]);
  const [unread, setUnread] = useState(0);
  const [open, setOpen] = useState(false);
  useSocket<Notice & { type: string }>("/ws/notifications", (msg) => {
    if (msg.type !== "notification") return;
    setItems((prev) => [msg, ...prev].slice(0, 50));
    setUnread((n) => n + 1);
  });
  return (
    <div className="relative">
      <button
        type="button"
        aria-label={`Notifications${unread ? ` (${unread} new)` : ""}`}
        className="relative rounded-md px-2 py-1 text-slate-600 hover:bg-slate-100"
        onClick={() => {
          setOpen(!open);
          setUnread(0);
        }}
      >
        <svg viewBox="0 0 24 24" aria-hidden="true" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round">
          <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" />
          <path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" />
        </svg>
        {unread > 0 && (
          <span className="absolute -right-1 -top-1 rounded-full bg-red-600 px-1.5 text-[10px] font-semibold text-white">{unread}</span>
        )}
      </button>
      {open && (
        <div className="absolute right-0 z-40 mt-2 w-80 rounded-lg border border-slate-200 bg-white shadow-lg">
          {items.length === 0 ? (
            <p className="p-4 text-sm text-slate-500">
              Nothing yet. Failed runs, approvals waiting for you and AI budget alerts appear here as they happen.
            </p>
          ) : (
            <ul className="max-h-96 divide-y divide-slate-100 overflow-auto">
              {items.map((n, i) => (
                <li key={i} className="p-3 text-sm">
                  <p className="font-medium">{n.kind.replace(/_/g, " ")}</p>
                  <p className="text-slate-600">{n.message}</p>
                  {n.execution_id && (
                    <Link className="text-blue-700 hover:underline" to={`/executions/${n.execution_id}`} onClick={() => setOpen(false)}>
                      Open the execution
                    </Link>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
