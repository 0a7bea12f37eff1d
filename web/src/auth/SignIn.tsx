// Sign in, register, and the MFA step that follows a password when the account has MFA on.
import { useState, type FormEvent } from "react";
import { Navigate, useLocation, useNavigate } from "react-router-dom";
import { TextField } from "../components/ui";
import { useAuth } from "./AuthContext";
import { FormFrame } from "./AuthFrame";

/** "Already have an account? Sign in": a question and a link-styled button. */
function SwitchMode({ question, label, onClick }: { question: string; label: string; onClick: () => void }) {
  return (
    <p className="text-sm text-slate-600">
      {question}{" "}
      <button type="button" className="text-blue-700 hover:underline" onClick={onClick}>
        {label}
      </button>
    </p>
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

  /** Signs in with the email and password: on to `next`, or to the MFA step when the account has it on. */
  const signIn = async () => {
    const res = await auth.login(email.trim(), password);
    if (res.mfa_token) setMfaToken(res.mfa_token);
    else navigate(next, { replace: true });
  };

  /** The email and password fields; a new password gets the length hint. */
  const credentialFields = (passwordAutoComplete: "current-password" | "new-password") => (
    <>
      <TextField label="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" required />
      <TextField
        label="Password"
        type="password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        autoComplete={passwordAutoComplete}
        hint={passwordAutoComplete === "new-password" ? "At least 8 characters." : undefined}
        required
      />
    </>
  );

  if (mfaToken) {
    return (
      <FormFrame
        title="Two-factor authentication"
        submitLabel="Verify"
        busy={busy}
        error={error}
        onSubmit={(e) =>
          run(e, async () => {
            await auth.verifyMfa(mfaToken, code.trim(), recovery);
            navigate(next, { replace: true });
          })
        }
        after={
          <button type="button" className="text-sm text-blue-700 hover:underline" onClick={() => setRecovery(!recovery)}>
            {recovery ? "Use an authenticator code" : "Use a recovery code"}
          </button>
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
      </FormFrame>
    );
  }

  if (mode === "register") {
    return (
      <FormFrame
        title="Create your account"
        submitLabel="Create account"
        busy={busy}
        error={error}
        onSubmit={(e) =>
          run(e, async () => {
            await auth.register(name.trim(), email.trim(), password);
            await signIn();
          })
        }
        after={<SwitchMode question="Already have an account?" label="Sign in" onClick={() => setMode("signin")} />}
      >
        <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" required />
        {credentialFields("new-password")}
      </FormFrame>
    );
  }

  return (
    <FormFrame
      title="Sign in"
      submitLabel="Sign in"
      busy={busy}
      error={error}
      onSubmit={(e) =>
        run(e, async () => {
          setNotice(null);
          await signIn();
        })
      }
      after={<SwitchMode question="New to AutoMatrix?" label="Create an account" onClick={() => setMode("register")} />}
    >
      {notice && <p className="text-sm text-green-700">{notice}</p>}
      {credentialFields("current-password")}
    </FormFrame>
  );
}
