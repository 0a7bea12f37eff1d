// A panel docked to the right of the studio canvas (node settings, version history): a header
// with a ✕ close button and a scrolling body.
import type { ReactNode } from "react";

export function SidePanel({
  label,
  heading,
  closeLabel,
  onClose,
  headerClassName,
  bodyClassName,
  children,
}: {
  /** The panel's accessible name. */
  label: string;
  heading: ReactNode;
  closeLabel: string;
  onClose: () => void;
  headerClassName: string;
  bodyClassName: string;
  children: ReactNode;
}) {
  return (
    <aside aria-label={label} className="flex h-full w-96 shrink-0 flex-col border-l border-slate-200 bg-white">
      <header className={`flex justify-between border-b border-slate-200 px-4 py-3 ${headerClassName}`}>
        {heading}
        <button type="button" aria-label={closeLabel} className="text-slate-500 hover:text-slate-800" onClick={onClose}>
          ✕
        </button>
      </header>
      <div className={`min-h-0 flex-1 overflow-auto ${bodyClassName}`}>{children}</div>
    </aside>
  );
}
