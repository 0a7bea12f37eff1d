// /invite/:token — the link an admin sends. A new person picks a name and a password and is
// signed in as a member; someone with an account signs in first and joins with one click.
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { api, ApiError, session, type Tokens } from "../api/client";
import { TextField } from "../components/ui";
import { useAuth } from "./AuthContext";
import { FormFrame } from "./AuthFrame";

interface Accepted {
  organization_id: string;
  role: string;
  tokens: Tokens | null;
}

function explain(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  if (error.status === 404) return new Error("This invitation is unknown, withdrawn, already used or expired. Ask for a new one.");
  if (error.status === 409) return new Error("This address already has an account: sign in with it, then open this link again.");
  if (error.status === 403) return new Error("This invitation is for another address. Sign out and open the link again.");
  return error;
}

export function AcceptInvitationPage() {
  const { token = "" } = useParams();
  const auth = useAuth();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [name, setName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const path = `/api/invitations/${encodeURIComponent(token)}/accept`;

  const joined = (res: Accepted) => {
    session.setOrganization(res.organization_id);
    if (res.tokens) session.set(res.tokens);
    queryClient.invalidateQueries();
    navigate("/", { replace: true });
  };

  const run = async (e: FormEvent, body?: object) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      joined(await api<Accepted>(path, body ? { body, anonymous: true } : { method: "POST" }));
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  if (auth.signedIn) {
    return (
      <FormFrame title="Join an organization" onSubmit={(e) => run(e)} submitLabel="Join the organization" busy={busy} error={error} after={null}>
        <p className="text-sm text-slate-600">
          You were invited to an organization on AutoMatrix. Join it as <strong>{auth.user?.email ?? "you"}</strong>?
        </p>
      </FormFrame>
    );
  }

  return (
    <FormFrame
      title="Join your team on AutoMatrix"
      onSubmit={(e) => run(e, { name: name.trim(), password })}
      submitLabel="Create account and join"
      busy={busy}
      error={error}
      after={
        <p className="text-sm text-slate-600">
          Already have an account?{" "}
          <Link className="text-blue-700 hover:underline" to="/signin" state={{ from: `/invite/${token}` }}>
            Sign in first
          </Link>
        </p>
      }
    >
      <p className="text-sm text-slate-600">Choose your name and a password; your email address is the one the invitation was sent to.</p>
      <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" required />
      <TextField
        label="Password"
        type="password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        autoComplete="new-password"
        hint="At least 8 characters."
        required
      />
    </FormFrame>
  );
}
