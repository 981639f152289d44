import {
  Button,
  Card,
  CardHeader,
  Dialog,
  DialogActions,
  DialogBody,
  DialogContent,
  DialogSurface,
  DialogTitle,
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
import { ErrorBar } from "../../components/ErrorBar";
import { useLockboxEvents } from "../../lib/hooks";
import { formatDateTime } from "../../lib/time";

const useStyles = makeStyles({
  card: { maxWidth: "900px" },
  form: { display: "flex", flexDirection: "column", gap: tokens.spacingVerticalM },
  toolbar: { display: "flex", gap: tokens.spacingHorizontalS },
  muted: { color: tokens.colorNeutralForeground2 },
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

  const load = useCallback(async () => {
    try {
      setUsers(await listUsers(tenant.id));
      setError(null);
    } catch (e) {
      setError(errorMessage(e));
    }
  }, [tenant.id]);

  useEffect(() => {
    void load();
  }, [load]);
  useLockboxEvents(tenant.id, ["settings_changed"], () => void load());

  return (
    <Card className={styles.card}>
      <CardHeader
        image={<PeopleRegular fontSize={24} aria-hidden />}
        header={
          <Text weight="semibold" as="h3" size={400} id="approvers-h">
            Customer approvers
          </Text>
        }
        description={
          <Text className={styles.muted}>
            People in your organization who can approve or reject requests. Admins can also change these settings.
          </Text>
        }
        action={
          <Button icon={<PersonAddRegular />} onClick={() => setAdding(true)} disabled={!isAdmin}>
            Add approver
          </Button>
        }
      />
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
      <RemoveApproverDialog
        user={removing}
        onClose={() => setRemoving(null)}
        onRemove={async (u) => {
          await removeUser(tenant.id, u.name);
          setRemoving(null);
          await load();
        }}
      />
    </Card>
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
  const styles = useStyles();
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("approver");
  const [email, setEmail] = useState("");
  const [errors, setErrors] = useState<AddErrors>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (open) {
      setName("");
      setRole("approver");
      setEmail("");
      setErrors({});
      setError(null);
      setBusy(false);
    }
  }, [open]);

  const submit = async () => {
    const v = validateApprover(name, email);
    setErrors(v);
    if (v.name || v.email) return;
    setBusy(true);
    setError(null);
    try {
      await onAdd(name.trim(), role, email.trim() === "" ? null : email.trim());
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog open={open} onOpenChange={(_, d) => !d.open && !busy && onClose()}>
      <DialogSurface aria-describedby={undefined}>
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          <DialogBody>
            <DialogTitle>Add approver</DialogTitle>
            <DialogContent className={styles.form}>
              <Field label="Name" required validationMessage={errors.name} validationState={errors.name ? "error" : "none"}>
                <Input value={name} onChange={(_, d) => setName(d.value)} />
              </Field>
              <Field label="Role">
                <Select value={role} onChange={(_, d) => setRole(d.value === "admin" ? "admin" : "approver")}>
                  <option value="approver">Approver</option>
                  <option value="admin">Admin</option>
                </Select>
              </Field>
              <Field
                label="Email (optional)"
                validationMessage={errors.email}
                validationState={errors.email ? "error" : "none"}
              >
                <Input type="email" value={email} onChange={(_, d) => setEmail(d.value)} />
              </Field>
              <ErrorBar error={error} title="The approver wasn't added" />
            </DialogContent>
            <DialogActions>
              <Button type="button" onClick={onClose} disabled={busy}>
                Cancel
              </Button>
              <Button type="submit" appearance="primary" disabled={busy}>
                Add
              </Button>
            </DialogActions>
          </DialogBody>
        </form>
      </DialogSurface>
    </Dialog>
  );
}

function RemoveApproverDialog({
  user,
  onClose,
  onRemove,
}: {
  user: UserDto | null;
  onClose: () => void;
  onRemove: (u: UserDto) => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState<UserDto | null>(user);
  useEffect(() => {
    if (user) {
      setShown(user);
      setError(null);
      setBusy(false);
    }
  }, [user]);
  return (
    <Dialog open={user !== null} onOpenChange={(_, d) => !d.open && !busy && onClose()}>
      <DialogSurface aria-describedby={undefined}>
        <DialogBody>
          <DialogTitle>Remove {shown?.name}?</DialogTitle>
          <DialogContent>
            <Text>
              {shown?.name} will no longer be able to approve or reject requests. Decisions they already made stay in
              the audit log.
            </Text>
            <ErrorBar error={error} title="The approver wasn't removed" />
          </DialogContent>
          <DialogActions>
            <Button onClick={onClose} disabled={busy}>
              Cancel
            </Button>
            <Button
              appearance="primary"
              disabled={busy}
              onClick={() => {
                if (!shown) return;
                setBusy(true);
                setError(null);
                onRemove(shown)
                  .catch((e) => setError(errorMessage(e)))
                  .finally(() => setBusy(false));
              }}
            >
              Remove
            </Button>
          </DialogActions>
        </DialogBody>
      </DialogSurface>
    </Dialog>
  );
}
