import {
  Button,
  Field,
  Input,
  makeStyles,
  Select,
  Spinner,
  Table,
  TableBody,
  TableCell,
  TableHeader,
  TableHeaderCell,
  TableRow,
  Text,
  tokens,
} from "@fluentui/react-components";
import { DeleteRegular, PersonAddRegular, PeopleRegular } from "@fluentui/react-icons";
import { useCallback, useEffect, useState } from "react";
import { addUser, errorMessage, listUsers, removeUser } from "../../api/client";
import { useApp } from "../../AppContext";
import type { Role } from "../../bindings/Role";
import type { UserDto } from "../../bindings/UserDto";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorBar } from "../../components/ErrorBar";
import { SettingsCard } from "../../components/SettingsCard";
import { FormDialog } from "../../components/FormDialog";
import { fieldValidation, useSubmit } from "../../lib/form";
import { useLockboxEvents, useOnChange } from "../../lib/hooks";
import { formatDateTime } from "../../lib/time";

const useStyles = makeStyles({
  toolbar: { display: "flex", gap: tokens.spacingHorizontalS },
  table: { tableLayout: "auto" },
});

export const EMAIL_RE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

const ROLE_LABEL: Record<Role, string> = { admin: "Admin", approver: "Approver" };

export function CustomerApprovers() {
  const styles = useStyles();
  const { tenant, session } = useApp();
  const [users, setUsers] = useState<UserDto[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<UserDto | null>(null);
  const isAdmin = session.role === "admin";

  // State changes only when the engine answers (never synchronously in the effect).
  const load = useCallback(
    () =>
      listUsers(tenant.id).then(
        (v) => {
          setUsers(v);
          setError(null);
        },
        (e: unknown) => setError(errorMessage(e)),
      ),
    [tenant.id],
  );

  useEffect(() => {
    void load();
  }, [load]);
  useLockboxEvents(tenant.id, ["settings_changed"], () => void load());

  return (
    <SettingsCard
      icon={<PeopleRegular fontSize={24} aria-hidden />}
      title="Customer approvers"
      headingId="approvers-h"
      description={
        <>People in your organization who can approve or reject requests. Admins can also change these settings.</>
      }
      action={
        <Button icon={<PersonAddRegular />} onClick={() => setAdding(true)} disabled={!isAdmin}>
          Add approver
        </Button>
      }
    >
      <ErrorBar error={error} />
      {users === null && !error ? <Spinner size="small" label="Loading approvers…" /> : null}
      {users !== null ? (
        users.length === 0 ? (
          <Text>No approvers yet. Add one so requests can be approved.</Text>
        ) : (
          <Table aria-labelledby="approvers-h" size="small" className={styles.table}>
            <TableHeader>
              <TableRow>
                <TableHeaderCell>Name</TableHeaderCell>
                <TableHeaderCell>Role</TableHeaderCell>
                <TableHeaderCell>Email</TableHeaderCell>
                <TableHeaderCell>Added</TableHeaderCell>
                <TableHeaderCell>
                  <span className="visually-hidden">Actions</span>
                </TableHeaderCell>
              </TableRow>
            </TableHeader>
            <TableBody>
              {users.map((u) => (
                <TableRow key={u.name}>
                  <TableCell>{u.name}</TableCell>
                  <TableCell>{ROLE_LABEL[u.role]}</TableCell>
                  <TableCell>{u.email ?? "—"}</TableCell>
                  <TableCell>{formatDateTime(u.created_at)}</TableCell>
                  <TableCell>
                    <Button
                      appearance="subtle"
                      icon={<DeleteRegular />}
                      aria-label={`Remove ${u.name}`}
                      disabled={!isAdmin}
                      onClick={() => setRemoving(u)}
                    />
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )
      ) : null}
      <AddApproverDialog
        open={adding}
        onClose={() => setAdding(false)}
        onAdd={async (name, role, email) => {
          await addUser(tenant.id, name, role, email);
          setAdding(false);
          await load();
        }}
      />
      <ConfirmDialog
        item={removing}
        title={(u) => `Remove ${u.name}?`}
        message={(u) => (
          <>
            {u.name} will no longer be able to approve or reject requests. Decisions they already made stay in the audit
            log.
          </>
        )}
        confirmLabel="Remove"
        errorTitle="The approver wasn't removed"
        onClose={() => setRemoving(null)}
        onConfirm={async (u) => {
          await removeUser(tenant.id, u.name);
          setRemoving(null);
          await load();
        }}
      />
    </SettingsCard>
  );
}

type AddErrors = { name?: string; email?: string };

export function validateApprover(name: string, email: string): AddErrors {
  const errors: AddErrors = {};
  if (name.trim() === "") errors.name = "Enter a name.";
  else if (name.trim().length > 100) errors.name = "The name is too long (100 characters at most).";
  if (email.trim() !== "" && !EMAIL_RE.test(email.trim())) errors.email = "Enter a valid email address, like name@example.com.";
  return errors;
}

function AddApproverDialog({
  open,
  onClose,
  onAdd,
}: {
  open: boolean;
  onClose: () => void;
  onAdd: (name: string, role: Role, email: string | null) => Promise<void>;
}) {
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("approver");
  const [email, setEmail] = useState("");
  const [errors, setErrors] = useState<AddErrors>({});
  const { busy, error, run } = useSubmit(open);

  useOnChange(open, (now) => {
    if (now) {
      setName("");
      setRole("approver");
      setEmail("");
      setErrors({});
    }
  });

  const submit = async () => {
    const v = validateApprover(name, email);
    setErrors(v);
    if (v.name || v.email) return;
    await run(() => onAdd(name.trim(), role, email.trim() === "" ? null : email.trim()));
  };

  return (
    <FormDialog
      open={open}
      title="Add approver"
      submitLabel="Add"
      busy={busy}
      error={error}
      errorTitle="The approver wasn't added"
      onClose={onClose}
      onSubmit={() => void submit()}
    >
      <Field label="Name" required {...fieldValidation(errors.name)}>
        <Input value={name} onChange={(_, d) => setName(d.value)} />
      </Field>
      <Field label="Role">
        <Select value={role} onChange={(_, d) => setRole(d.value === "admin" ? "admin" : "approver")}>
          <option value="approver">Approver</option>
          <option value="admin">Admin</option>
        </Select>
      </Field>
      <Field label="Email (optional)" {...fieldValidation(errors.email)}>
        <Input type="email" value={email} onChange={(_, d) => setEmail(d.value)} />
      </Field>
    </FormDialog>
  );
}
