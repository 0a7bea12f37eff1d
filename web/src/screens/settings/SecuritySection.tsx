// Security of the signed-in account: multi-factor authentication, sessions, password.
import { useMemo, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import qrcode from "qrcode-generator";
import { api } from "../../api/client";
import { useAuth } from "../../auth/AuthContext";
import { Button, Card, ErrorBox, Spinner, TextField, formatTime, Table } from "../../components/ui";
import { ConfirmButton, CopyButton } from "../../components/actions";
import { Section } from "./common";

interface MfaSetup {
  secret: string;
  otpauth_url: string;
}

interface Session {
  id: string;
  created_at: string;
  refreshed_at: string;
  expires_at: string;
  current: boolean;
}

export function SecuritySection() {
  return (
    <Section title="Security" intro="Protect your own account: these settings apply to you, in every organization you belong to.">
      <MfaCard />
      <SessionsCard />
      <PasswordCard />
    </Section>
  );
}

/** A QR code of `text` as a data: URL image (the content security policy allows img data: URLs). */
function QrCode({ text }: { text: string }) {
  const src = useMemo(() => {
    const qr = qrcode(0, "M");
    qr.addData(text);
    qr.make();
    return qr.createDataURL(5, 20); // a quiet zone of 4 modules around the code
  }, [text]);
  return <img src={src} alt="QR code to scan with your authenticator app" className="h-52 w-52 bg-white [image-rendering:pixelated]" />;
}

function groupSecret(secret: string): string {
  return secret.replace(/(.{4})/g, "$1 ").trim();
}

function downloadText(filename: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function MfaCard() {
  const { user } = useAuth();
  const qc = useQueryClient();
  const [code, setCode] = useState("");
  const [disableCode, setDisableCode] = useState("");
  const [recoveryCodes, setRecoveryCodes] = useState<string[] | null>(null);
  const setup = useMutation({ mutationFn: () => api<MfaSetup>("/api/auth/mfa/setup", { method: "POST" }) });
  const enable = useMutation({
    mutationFn: (c: string) => api<{ recovery_codes: string[] }>("/api/auth/mfa/enable", { body: { code: c } }),
    onSuccess: (res) => {
      setRecoveryCodes(res.recovery_codes);
      setCode("");
      setup.reset();
      qc.invalidateQueries({ queryKey: ["me"] });
    },
  });
  const disable = useMutation({
    mutationFn: (c: string) => {
      const trimmed = c.trim();
      const body = /^\d{6}$/.test(trimmed.replace(/\s/g, "")) ? { code: trimmed.replace(/\s/g, "") } : { recovery_code: trimmed };
      return api("/api/auth/mfa/disable", { body });
    },
    onSuccess: () => {
      setDisableCode("");
      setRecoveryCodes(null);
      qc.invalidateQueries({ queryKey: ["me"] });
    },
  });

  if (!user) return <Spinner />;

  if (recoveryCodes) {
    const text = recoveryCodes.join("\n");
    return (
      <Card title="Multi-factor authentication">
        <div className="space-y-3">
          <p className="text-sm font-medium text-green-800">MFA is on. From now on you sign in with your password and a code from your app.</p>
          <div className="rounded-md border border-amber-300 bg-amber-50 p-3">
            <p className="text-sm font-semibold text-amber-900">Save your recovery codes</p>
            <p className="text-xs text-amber-900">
              If you lose your phone, each of these codes lets you sign in once. They are shown only now: print them or
              keep them in a password manager.
            </p>
            <ul data-testid="recovery-codes" aria-label="Recovery codes" className="mt-2 grid grid-cols-2 gap-1 font-mono text-sm">
              {recoveryCodes.map((c) => (
                <li key={c}>{c}</li>
              ))}
            </ul>
            <div className="mt-3 flex flex-wrap gap-2">
              <CopyButton text={text} label="Copy codes" />
              <Button variant="secondary" onClick={() => downloadText("automatrix-recovery-codes.txt", `AutoMatrix recovery codes for ${user.email}\n\n${text}\n`)}>
                Download as text
              </Button>
            </div>
          </div>
          <Button onClick={() => setRecoveryCodes(null)}>I have saved them</Button>
        </div>
      </Card>
    );
  }

  if (user.mfa_enabled) {
    return (
      <Card title="Multi-factor authentication">
        <form
          className="space-y-3"
          onSubmit={(e) => {
            e.preventDefault();
            disable.mutate(disableCode);
          }}
        >
          <p className="text-sm text-slate-700">
            <span className="font-medium text-green-800">MFA is on.</span> Signing in asks for a code from your authenticator
            app.
          </p>
          <p className="text-sm text-slate-600">
            To turn it off, enter a current code from your app or one of your recovery codes. An organization that requires
            MFA will lock you out until you turn it on again.
          </p>
          <div className="max-w-xs">
            <TextField
              label="Code or recovery code"
              value={disableCode}
              autoComplete="one-time-code"
              onChange={(e) => setDisableCode(e.target.value)}
              required
            />
          </div>
          <ErrorBox error={disable.error} title="MFA could not be turned off" />
          <Button type="submit" variant="danger" disabled={disable.isPending || disableCode.trim() === ""}>
            {disable.isPending ? "Turning off…" : "Disable"}
          </Button>
        </form>
      </Card>
    );
  }

  return (
    <Card title="Multi-factor authentication">
      {!setup.data ? (
        <div className="space-y-3">
          <p className="text-sm text-slate-700">
            <span className="font-medium text-amber-800">MFA is off.</span> Add a second step to signing in: a 6-digit code
            from an authenticator app on your phone (Google Authenticator, Microsoft Authenticator, 1Password…). Someone
            who learns your password still cannot get in.
          </p>
          <ErrorBox error={setup.error} title="MFA could not be set up" />
          <Button onClick={() => setup.mutate()} disabled={setup.isPending}>
            {setup.isPending ? "Preparing…" : "Set up MFA"}
          </Button>
        </div>
      ) : (
        <form
          className="space-y-4"
          onSubmit={(e) => {
            e.preventDefault();
            enable.mutate(code.replace(/\s/g, ""));
          }}
        >
          <ol className="list-decimal space-y-1 pl-5 text-sm text-slate-700">
            <li>Open your authenticator app and add an account.</li>
            <li>Scan this QR code, or type the secret key below.</li>
            <li>Enter the 6-digit code the app shows.</li>
          </ol>
          <div className="flex flex-wrap items-center gap-4">
            <QrCode text={setup.data.otpauth_url} />
            <div className="space-y-1">
              <p className="text-xs text-slate-500">Secret key (if you cannot scan)</p>
              <code data-testid="mfa-secret" className="block font-mono text-sm break-all select-all">
                {groupSecret(setup.data.secret)}
              </code>
              <CopyButton text={setup.data.secret} label="Copy secret" />
            </div>
          </div>
          <div className="max-w-xs">
            <TextField
              label="Authentication code"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={8}
              value={code}
              onChange={(e) => setCode(e.target.value)}
              required
            />
          </div>
          <ErrorBox error={enable.error} title="MFA could not be turned on" />
          <div className="flex gap-2">
            <Button type="submit" disabled={enable.isPending || code.trim() === ""}>
              {enable.isPending ? "Checking…" : "Enable"}
            </Button>
            <Button variant="ghost" onClick={() => setup.reset()}>
              Cancel
            </Button>
          </div>
        </form>
      )}
    </Card>
  );
}

function SessionsCard() {
  const qc = useQueryClient();
  const sessions = useQuery({ queryKey: ["sessions"], queryFn: () => api<{ items: Session[] }>("/api/auth/sessions") });
  const revoke = useMutation({
    mutationFn: (id: string) => api(`/api/auth/sessions/${id}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["sessions"] }),
  });
  const items = sessions.data?.items ?? [];
  return (
    <Card title="Where you are signed in">
      {sessions.isLoading && <Spinner />}
      <ErrorBox error={sessions.error} title="Your sessions could not be loaded" />
      <ErrorBox error={revoke.error} title="The session could not be ended" />
      {items.length > 0 && (
        <>
          <Table columns={["Signed in", "Last active", "Expires", ""]}>
            {items.map((s) => (
              <tr key={s.id} className="border-t border-slate-100">
                <td className="py-2 pr-3">{formatTime(s.created_at)}</td>
                <td className="py-2 pr-3">{formatTime(s.refreshed_at)}</td>
                <td className="py-2 pr-3">{formatTime(s.expires_at)}</td>
                <td className="py-2 text-right">
                  {s.current ? (
                    <span className="text-xs font-medium text-green-700">This browser</span>
                  ) : (
                    <ConfirmButton
                      label="Sign out"
                      confirmLabel="Sign it out"
                      question="Sign this session out?"
                      busy={revoke.isPending && revoke.variables === s.id}
                      onConfirm={() => revoke.mutate(s.id)}
                    />
                  )}
                </td>
              </tr>
            ))}
          </Table>
          <p className="mt-2 text-xs text-slate-500">
            A session you sign out can no longer be renewed; it stops working within 15 minutes.
          </p>
        </>
      )}
    </Card>
  );
}

function PasswordCard() {
  const qc = useQueryClient();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const mismatch = again !== "" && next !== again;
  const tooShort = next !== "" && next.length < 8;
  const change = useMutation({
    mutationFn: (body: { current_password: string; new_password: string }) =>
      api("/api/auth/change-password", { body }),
    onSuccess: () => {
      setCurrent("");
      setNext("");
      setAgain("");
      qc.invalidateQueries({ queryKey: ["sessions"] });
    },
  });
  function submit(e: FormEvent) {
    e.preventDefault();
    if (mismatch || tooShort) return;
    change.mutate({ current_password: current, new_password: next });
  }
  return (
    <Card title="Change password">
      <form className="max-w-sm space-y-3" onSubmit={submit}>
        <TextField label="Current password" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          required
          value={next}
          onChange={(e) => setNext(e.target.value)}
          error={tooShort ? "At least 8 characters." : undefined}
          hint="At least 8 characters. Your other sessions are signed out."
        />
        <TextField
          label="New password again"
          type="password"
          autoComplete="new-password"
          required
          value={again}
          onChange={(e) => setAgain(e.target.value)}
          error={mismatch ? "The two new passwords differ." : undefined}
        />
        <ErrorBox error={change.error} title="The password could not be changed" />
        {change.isSuccess && <p className="text-sm text-green-700">Your password was changed. Other sessions were signed out.</p>}
        <Button type="submit" disabled={change.isPending || mismatch || tooShort || !current || !next}>
          {change.isPending ? "Changing…" : "Change password"}
        </Button>
      </form>
    </Card>
  );
}
