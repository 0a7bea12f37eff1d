// The card the signed-out screens sit in: sign-in, registration, MFA, accepting an invitation.
import type { FormEvent, ReactNode } from "react";
import { Button, ErrorBox } from "../components/ui";

export function AuthFrame({ title, children }: { title: string; children: ReactNode }) {
  return (
    <div className="flex min-h-full items-center justify-center p-6">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-center gap-2">
          <img src="/favicon.svg" alt="" className="h-8 w-8" />
          <span className="text-xl font-semibold">AutoMatrix</span>
        </div>
        <div className="rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
          <h1 className="mb-4 text-lg font-semibold">{title}</h1>
          {children}
        </div>
      </div>
    </div>
  );
}

/** The card every step draws: the logo, a title, and a form ending in its error, its submit
 *  button and whatever comes `after` (a link to the other mode). */
export function FormFrame({
  title,
  onSubmit,
  submitLabel,
  busy,
  error,
  after,
  children,
}: {
  title: string;
  onSubmit: (e: FormEvent) => void;
  submitLabel: string;
  busy: boolean;
  error: unknown;
  after: ReactNode;
  children: ReactNode;
}) {
  return (
    <AuthFrame title={title}>
      <form className="space-y-4" onSubmit={onSubmit}>
        {children}
        <ErrorBox error={error} />
        <Button type="submit" className="w-full" disabled={busy}>
          {submitLabel}
        </Button>
        {after}
      </form>
    </AuthFrame>
  );
}
