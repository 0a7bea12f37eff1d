// Members: who is in the organization and with which role, invitations for new people, and
// (for owners) the organization's name and MFA requirement.
import { useEffect, useState, type FormEvent } from "react";
import { useNavigate } from "react-router-dom";
import { useMutation, useQuery, useQueryClient, type UseMutationResult } from "@tanstack/react-query";
import { api } from "../../api/client";
import type { Organization, Role } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { Button, Card, EmptyState, SelectField, Spinner, TextField, formatTime, Table } from "../../components/ui";
import { ConfirmButton, OneTimeSecret } from "../../components/actions";
import { ROLE_LABELS, RoleNote, Section, rolesUpTo, SettingsError } from "./common";

export interface Member {
  user_id: string;
  email: string;
  name: string;
  role: Role;
  joined_at: string;
}

export interface Invitation {
  id: string;
  email: string;
  role: Role;
  invited_by: string;
  expires_at: string;
  created_at: string;
  token?: string;
}

export function MembersSection() {
  const { organization, can } = useAuth();
  if (!organization) return <Spinner />;
  return (
    <Section
      title="Members"
      intro="Everyone who can sign in to this organization, and what they may do. A role change takes effect on their next click."
    >
      <OrganizationCard org={organization} />
      <MemberList org={organization} />
      {can("admin") ? (
        <>
          <AddMemberCard org={organization} />
          <InvitationsCard org={organization} />
        </>
      ) : (
        <RoleNote need="admin">Only admins and owners can add, invite, change or remove members.</RoleNote>
      )}
      <LeaveCard org={organization} />
    </Section>
  );
}

function OrganizationCard({ org }: { org: Organization }) {
  const { can, user } = useAuth();
  const owner = can("owner");
  const qc = useQueryClient();
  const [name, setName] = useState(org.name);
  const [requireMfa, setRequireMfa] = useState(org.require_mfa);
  useEffect(() => {
    setName(org.name);
    setRequireMfa(org.require_mfa);
  }, [org.name, org.require_mfa]);
  const save = useMutation({
    mutationFn: (body: { name?: string; require_mfa?: boolean }) => api<Organization>(`/api/orgs/${org.id}`, { method: "PUT", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["orgs"] }),
  });
  const changed = name.trim() !== org.name || requireMfa !== org.require_mfa;
  function submit(e: FormEvent) {
    e.preventDefault();
    const body: { name?: string; require_mfa?: boolean } = {};
    if (name.trim() !== org.name) body.name = name.trim();
    if (requireMfa !== org.require_mfa) body.require_mfa = requireMfa;
    save.mutate(body);
  }
  if (!owner) {
    return (
      <Card title="Organization">
        <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
          <dt className="text-slate-500">Name</dt>
          <dd>{org.name}</dd>
          <dt className="text-slate-500">Multi-factor authentication</dt>
          <dd>{org.require_mfa ? "Required of every member" : "Optional"}</dd>
        </dl>
        <div className="mt-3">
          <RoleNote need="owner">Only owners can rename the organization or change whether MFA is required.</RoleNote>
        </div>
      </Card>
    );
  }
  return (
    <Card title="Organization">
      <form className="space-y-3" onSubmit={submit}>
        <TextField label="Organization name" value={name} required maxLength={200} onChange={(e) => setName(e.target.value)} />
        <label className="flex items-start gap-2 text-sm text-slate-700">
          <input type="checkbox" className="mt-1" checked={requireMfa} onChange={(e) => setRequireMfa(e.target.checked)} />
          <span>
            <span className="font-medium">Require MFA</span> — every member must use an authenticator app to sign in
            (the FTC Safeguards Rule asks for it). Members without it are locked out of this organization until they set
            it up under Settings → Security.
            {requireMfa && !org.require_mfa && !user?.mfa_enabled && (
              <span className="mt-1 block text-amber-800">Set up MFA for your own account first (Security), or this will be refused.</span>
            )}
          </span>
        </label>
        <SettingsError error={save.error} title="The organization could not be saved" />
        {save.isSuccess && !changed && <p className="text-sm text-green-700">Saved.</p>}
        <Button type="submit" disabled={!changed || save.isPending || name.trim() === ""}>
          {save.isPending ? "Saving…" : "Save organization"}
        </Button>
      </form>
    </Card>
  );
}

function MemberList({ org }: { org: Organization }) {
  const { can, user, role: myRole } = useAuth();
  const admin = can("admin");
  const owner = can("owner");
  const qc = useQueryClient();
  const members = useQuery({
    queryKey: ["members", org.id],
    queryFn: () => api<{ items: Member[] }>(`/api/orgs/${org.id}/members`),
  });
  const changeRole = useMutation({
    mutationFn: ({ id, role }: { id: string; role: Role }) =>
      api(`/api/orgs/${org.id}/members/${id}`, { method: "PUT", body: { role } }),
    onSettled: () => qc.invalidateQueries({ queryKey: ["members", org.id] }),
    onSuccess: (_d, v) => {
      if (v.id === user?.id) qc.invalidateQueries({ queryKey: ["orgs"] });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => api(`/api/orgs/${org.id}/members/${id}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["members", org.id] }),
  });
  const items = members.data?.items ?? [];
  const assignable = rolesUpTo(myRole);
  return (
    <Card title="People">
      {members.isLoading && <Spinner />}
      <SettingsError error={members.error} title="The members could not be loaded" />
      <SettingsError error={changeRole.error} title="The role could not be changed" />
      <SettingsError error={remove.error} title="The member could not be removed" />
      {items.length > 0 && (
        <div className="overflow-x-auto">
          <Table columns={["Name", "Email", "Role", "Joined", ""]}>
            {items.map((m) => {
              const me = m.user_id === user?.id;
              // Only owners touch owners; admins manage everyone else.
              const manageable = admin && (owner || m.role !== "owner");
              return (
                <tr key={m.user_id} className="border-t border-slate-100">
                  <td className="py-2 pr-3 font-medium">
                    {m.name}
                    {me && <span className="ml-1 text-xs text-slate-500">(you)</span>}
                  </td>
                  <td className="py-2 pr-3">{m.email}</td>
                  <td className="py-2 pr-3">
                    {manageable ? (
                      <select
                        aria-label={`Role of ${m.name}`}
                        className="rounded-md border border-slate-300 bg-white px-2 py-1 text-sm"
                        value={m.role}
                        disabled={changeRole.isPending && changeRole.variables?.id === m.user_id}
                        onChange={(e) => changeRole.mutate({ id: m.user_id, role: e.target.value as Role })}
                      >
                        {assignable.map((r) => (
                          <option key={r} value={r}>
                            {ROLE_LABELS[r]}
                          </option>
                        ))}
                      </select>
                    ) : (
                      ROLE_LABELS[m.role] ?? m.role
                    )}
                  </td>
                  <td className="py-2 pr-3">{formatTime(m.joined_at)}</td>
                  <td className="py-2 text-right">
                    {manageable && !me && (
                      <ConfirmButton
                        label="Remove"
                        confirmLabel="Remove member"
                        question={`Remove ${m.name}? Their API keys here stop working.`}
                        busy={remove.isPending && remove.variables === m.user_id}
                        onConfirm={() => remove.mutate(m.user_id)}
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </Table>
        </div>
      )}
      {admin && !owner && <p className="mt-2 text-xs text-slate-500">Owners can only be changed by another owner.</p>}
    </Card>
  );
}

/** An email and a role to give it, for adding a member or inviting one. The email clears once sent. */
function EmailRoleForm({
  emailLabel,
  roleLabel,
  submitLabel,
  busyLabel,
  mutation,
}: {
  emailLabel: string;
  roleLabel: string;
  submitLabel: string;
  busyLabel: string;
  mutation: UseMutationResult<unknown, Error, { email: string; role: Role }>;
}) {
  const { role } = useAuth();
  const [email, setEmail] = useState("");
  const [newRole, setNewRole] = useState<Role>("editor");
  return (
    <form
      className="flex flex-wrap items-end gap-3"
      onSubmit={(e) => {
        e.preventDefault();
        mutation.mutate({ email: email.trim(), role: newRole }, { onSuccess: () => setEmail("") });
      }}
    >
      <div className="min-w-56 flex-1">
        <TextField label={emailLabel} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </div>
      <SelectField label={roleLabel} value={newRole} onChange={(e) => setNewRole(e.target.value as Role)}>
        {rolesUpTo(role).map((r) => (
          <option key={r} value={r}>
            {ROLE_LABELS[r]}
          </option>
        ))}
      </SelectField>
      <Button type="submit" disabled={mutation.isPending || email.trim() === ""}>
        {mutation.isPending ? busyLabel : submitLabel}
      </Button>
    </form>
  );
}

function AddMemberCard({ org }: { org: Organization }) {
  const qc = useQueryClient();
  const add = useMutation({
    mutationFn: (body: { email: string; role: Role }) => api<Member>(`/api/orgs/${org.id}/members`, { body }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["members", org.id] });
    },
  });
  return (
    <Card title="Add someone who already has an account">
      <EmailRoleForm emailLabel="Email of the account" roleLabel="Role for the new member" submitLabel="Add member" busyLabel="Adding…" mutation={add} />
      <div className="mt-3 space-y-2">
        <SettingsError error={add.error} title="The account could not be added" />
        {add.isSuccess && <p className="text-sm text-green-700">{add.data.name} was added.</p>}
        <p className="text-xs text-slate-500">No account yet? Send an invitation below instead.</p>
      </div>
    </Card>
  );
}

function InvitationsCard({ org }: { org: Organization }) {
  const qc = useQueryClient();
  const invitations = useQuery({
    queryKey: ["invitations", org.id],
    queryFn: () => api<{ items: Invitation[] }>(`/api/orgs/${org.id}/invitations`),
  });
  const create = useMutation({
    mutationFn: (body: { email: string; role: Role }) => api<Invitation>(`/api/orgs/${org.id}/invitations`, { body }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ["invitations", org.id] });
    },
  });
  const withdraw = useMutation({
    mutationFn: (id: string) => api(`/api/orgs/${org.id}/invitations/${id}`, { method: "DELETE" }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["invitations", org.id] }),
  });
  const items = invitations.data?.items ?? [];
  return (
    <Card title="Invitations">
      <EmailRoleForm emailLabel="Email to invite" roleLabel="Role for the invitee" submitLabel="Create invitation" busyLabel="Inviting…" mutation={create} />
      <div className="mt-3 space-y-3">
        <SettingsError error={create.error} title="The invitation could not be created" />
        {create.data?.token && (
          <OneTimeSecret
            value={`${location.origin}/invite/${create.data.token}`}
            testId="new-invitation-link"
            title={`Invitation link for ${create.data.email}`}
          >
            Send this link to {create.data.email} (AutoMatrix does not email it). Opening it lets them create their account
            (or sign in) and join as {create.data.role}. It works once, for 7 days, and will not be shown again.
          </OneTimeSecret>
        )}
        {invitations.isLoading && <Spinner />}
        <SettingsError error={invitations.error} title="The invitations could not be loaded" />
        <SettingsError error={withdraw.error} title="The invitation could not be withdrawn" />
        {invitations.data && items.length === 0 && <EmptyState title="No open invitations">Invite someone who has no AutoMatrix account yet.</EmptyState>}
        {items.length > 0 && (
          <Table columns={["Email", "Role", "Expires", ""]}>
            {items.map((i) => (
              <tr key={i.id} className="border-t border-slate-100">
                <td className="py-2 pr-3">{i.email}</td>
                <td className="py-2 pr-3">{ROLE_LABELS[i.role] ?? i.role}</td>
                <td className="py-2 pr-3">{formatTime(i.expires_at)}</td>
                <td className="py-2 text-right">
                  <ConfirmButton
                    label="Withdraw"
                    confirmLabel="Withdraw invitation"
                    question={`Withdraw the invitation for ${i.email}?`}
                    busy={withdraw.isPending && withdraw.variables === i.id}
                    onConfirm={() => withdraw.mutate(i.id)}
                  />
                </td>
              </tr>
            ))}
          </Table>
        )}
      </div>
    </Card>
  );
}

function LeaveCard({ org }: { org: Organization }) {
  const { organizations, switchOrganization } = useAuth();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const other = organizations.find((o) => o.id !== org.id);
  const leave = useMutation({
    mutationFn: () => api(`/api/orgs/${org.id}/leave`, { method: "POST" }),
    onSuccess: () => {
      if (other) switchOrganization(other.id);
      qc.invalidateQueries({ queryKey: ["orgs"] });
      navigate("/");
    },
  });
  return (
    <Card title="Leave this organization">
      <div className="space-y-2">
        <p className="text-sm text-slate-600">
          You lose access to its workflows and executions, and your API keys here stop working.
          {other ? ` You will continue in ${other.name}.` : " It is your only organization."} The last owner cannot leave.
        </p>
        <SettingsError error={leave.error} title="You could not leave the organization" />
        <ConfirmButton
          label="Leave organization"
          confirmLabel="Leave"
          question={`Leave ${org.name}?`}
          busy={leave.isPending}
          onConfirm={() => leave.mutate()}
        />
      </div>
    </Card>
  );
}
