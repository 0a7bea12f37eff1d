// Sign in, register, and the MFA step that follows a password when the account has MFA on.
import { useState, type FormEvent } from "react";
import { Navigate, useLocation, useNavigate } from "react-router-dom";
import { Button, ErrorBox, TextField } from "../components/ui";
import { useAuth } from "./AuthContext";

function Frame({ title, children }: { title: string; children: React.ReactNode }) {
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

export function SignInPage() {
  const auth = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const next = (location.state as { from?: string } | null)?.from ?? "/";
  const [mode, setMode] = useState<"signin" | "register">("signin");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const [code, setCode] = useState("");
  const [recovery, setRecovery] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);

  if (auth.signedIn) return <Navigate to={next} replace />;

  const run = async (e: FormEvent, action: () => Promise<void>) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (mfaToken) {
    return (
      <Frame title="Two-factor authentication">
        <form
          className="space-y-4"
          onSubmit={(e) =>
            run(e, async () => {
              await auth.verifyMfa(mfaToken, code.trim(), recovery);
              navigate(next, { replace: true });
            })
          }
        >
          <p className="text-sm text-slate-600">
            {recovery
              ? "Enter one of the recovery codes you saved when you turned on two-factor authentication."
              : "Enter the 6-digit code from your authenticator app."}
          </p>
          <TextField
            label={recovery ? "Recovery code" : "Authentication code"}
            value={code}
            onChange={(e) => setCode(e.target.value)}
            autoComplete="one-time-code"
            inputMode={recovery ? "text" : "numeric"}
            autoFocus
            required
          />
          <ErrorBox error={error} />
          <Button type="submit" className="w-full" disabled={busy}>
            Verify
          </Button>
          <button type="button" className="text-sm text-blue-700 hover:underline" onClick={() => setRecovery(!recovery)}>
            {recovery ? "Use an authenticator code" : "Use a recovery code"}
          </button>
        </form>
      </Frame>
    );
  }

  if (mode === "register") {
    return (
      <Frame title="Create your account">
        <form
          className="space-y-4"
          onSubmit={(e) =>
            run(e, async () => {
              await auth.register(name.trim(), email.trim(), password);
              const res = await auth.login(email.trim(), password);
              if (res.mfa_token) setMfaToken(res.mfa_token);
              else navigate(next, { replace: true });
            })
          }
        >
          <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" required />
          <TextField label="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" required />
          <TextField
            label="Password"
            type="password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            autoComplete="new-password"
            hint="At least 8 characters."
            required
          />
          <ErrorBox error={error} />
          <Button type="submit" className="w-full" disabled={busy}>
            Create account
          </Button>
          <p className="text-sm text-slate-600">
            Already have an account?{" "}
            <button type="button" className="text-blue-700 hover:underline" onClick={() => setMode("signin")}>
              Sign in
            </button>
          </p>
        </form>
      </Frame>
    );
  }

  return (
    <Frame title="Sign in">
      <form
        className="space-y-4"
        onSubmit={(e) =>
          run(e, async () => {
            setNotice(null);
            const res = await auth.login(email.trim(), password);
            if (res.mfa_token) setMfaToken(res.mfa_token);
            else navigate(next, { replace: true });
          })
        }
      >
        {notice && <p className="text-sm text-green-700">{notice}</p>}
        <TextField label="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" required />
        <TextField
          label="Password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          autoComplete="current-password"
          required
        />
        <ErrorBox error={error} />
        <Button type="submit" className="w-full" disabled={busy}>
          Sign in
        </Button>
        <p className="text-sm text-slate-600">
          New to AutoMatrix?{" "}
          <button type="button" className="text-blue-700 hover:underline" onClick={() => setMode("register")}>
            Create an account
          </button>
        </p>
      </form>
    </Frame>
  );
}
