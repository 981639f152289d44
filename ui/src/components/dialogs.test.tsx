import { Field, FluentProvider, Input, webLightTheme } from "@fluentui/react-components";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState, type ReactElement } from "react";
import { describe, expect, it, vi } from "vitest";
import { fieldValidation } from "../lib/form";
import { ConfirmDialog } from "./ConfirmDialog";
import { EditDrawer } from "./EditDrawer";
import { FormDialog } from "./FormDialog";

const wrap = (ui: ReactElement) => render(<FluentProvider theme={webLightTheme}>{ui}</FluentProvider>);

describe("fieldValidation", () => {
  it("marks a field as an error only when there is a message", () => {
    expect(fieldValidation("Enter a name.")).toEqual({ validationMessage: "Enter a name.", validationState: "error" });
    expect(fieldValidation(undefined)).toEqual({ validationMessage: undefined, validationState: "none" });
  });
});

describe("EditDrawer", () => {
  function drawer(props: Partial<Parameters<typeof EditDrawer>[0]> = {}) {
    const onSave = vi.fn();
    const onClose = vi.fn();
    wrap(
      <EditDrawer
        open
        title="Thing"
        ariaLabel="Thing settings"
        formId="thing-form"
        description="About the thing."
        saving={false}
        error={null}
        errorTitle="The thing wasn't saved"
        onClose={onClose}
        onSave={onSave}
        {...props}
      >
        <Field label="Name" {...fieldValidation(props.error ? undefined : "Too long.")}>
          <Input />
        </Field>
      </EditDrawer>,
    );
    return { onSave, onClose, panel: screen.getByRole("dialog", { name: "Thing settings" }) };
  }

  it("is a named panel with a heading, the fields, Save, Cancel and Close", async () => {
    const u = userEvent.setup();
    const { onSave, onClose, panel } = drawer();
    const p = within(panel);
    expect(p.getByText("Thing")).toBeInTheDocument();
    expect(p.getByText("About the thing.")).toBeInTheDocument();
    expect(p.getByRole("textbox", { name: "Name" })).toBeInTheDocument();
    expect(p.getByText("Too long.")).toBeInTheDocument();
    await u.click(p.getByRole("button", { name: "Save" }));
    expect(onSave).toHaveBeenCalledTimes(1);
    await u.type(p.getByRole("textbox", { name: "Name" }), "x{Enter}");
    expect(onSave).toHaveBeenCalledTimes(2);
    await u.click(p.getByRole("button", { name: "Cancel" }));
    await u.click(p.getByRole("button", { name: "Close" }));
    expect(onClose).toHaveBeenCalledTimes(2);
  });

  it("disables Save and Cancel while saving and shows the save error", () => {
    const { panel } = drawer({ saving: true, error: "disk full" });
    const p = within(panel);
    expect(p.getByRole("button", { name: "Save" })).toBeDisabled();
    expect(p.getByRole("button", { name: "Cancel" })).toBeDisabled();
    expect(p.getByRole("alert")).toHaveTextContent("The thing wasn't saved");
    expect(p.getByRole("alert")).toHaveTextContent("disk full");
  });

  it("shows extra footer buttons after Save and Cancel", () => {
    const { panel } = drawer({ footerExtra: <button type="button">Turn off</button> });
    const names = within(panel)
      .getAllByRole("button")
      .map((b) => b.textContent);
    expect(names.slice(-3)).toEqual(["Save", "Cancel", "Turn off"]);
  });
});

describe("FormDialog", () => {
  it("submits on its button and on Enter, and shows the engine's error", async () => {
    const u = userEvent.setup();
    const onSubmit = vi.fn();
    const onClose = vi.fn();
    wrap(
      <FormDialog
        open
        title="Add thing"
        submitLabel="Add"
        busy={false}
        error="already exists"
        errorTitle="The thing wasn't added"
        onClose={onClose}
        onSubmit={onSubmit}
      >
        <Field label="Name">
          <Input />
        </Field>
      </FormDialog>,
    );
    const d = within(screen.getByRole("dialog", { name: "Add thing" }));
    await u.click(d.getByRole("button", { name: "Add" }));
    await u.type(d.getByRole("textbox", { name: "Name" }), "x{Enter}");
    expect(onSubmit).toHaveBeenCalledTimes(2);
    expect(d.getByRole("alert")).toHaveTextContent("already exists");
    await u.click(d.getByRole("button", { name: "Cancel" }));
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(onSubmit).toHaveBeenCalledTimes(2);
  });

  it("disables both buttons while busy", () => {
    wrap(
      <FormDialog
        open
        title="Add thing"
        submitLabel="Add"
        busy
        error={null}
        errorTitle="x"
        onClose={() => {}}
        onSubmit={() => {}}
      >
        <span />
      </FormDialog>,
    );
    const d = within(screen.getByRole("dialog", { name: "Add thing" }));
    expect(d.getByRole("button", { name: "Add" })).toBeDisabled();
    expect(d.getByRole("button", { name: "Cancel" })).toBeDisabled();
  });
});

describe("ConfirmDialog", () => {
  type Item = { name: string };

  function Host({ onConfirm }: { onConfirm: (i: Item) => Promise<void> }) {
    const [item, setItem] = useState<Item | null>(null);
    return (
      <>
        <button type="button" onClick={() => setItem({ name: "Alex" })}>
          Ask
        </button>
        <ConfirmDialog
          item={item}
          title={(i) => `Remove ${i.name}?`}
          message={(i) => <>{i.name} goes away.</>}
          confirmLabel="Remove"
          errorTitle="Alex wasn't removed"
          onClose={() => setItem(null)}
          onConfirm={async (i) => {
            await onConfirm(i);
            setItem(null);
          }}
        />
      </>
    );
  }

  it("is named by its title, confirms with the item and closes", async () => {
    const u = userEvent.setup();
    const onConfirm = vi.fn(async () => {});
    wrap(<Host onConfirm={onConfirm} />);
    await u.click(screen.getByRole("button", { name: "Ask" }));
    const d = within(await screen.findByRole("dialog", { name: "Remove Alex?" }));
    expect(d.getByText("Alex goes away.")).toBeInTheDocument();
    await u.click(d.getByRole("button", { name: "Remove" }));
    expect(onConfirm).toHaveBeenCalledWith({ name: "Alex" });
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
  });

  it("Cancel closes without confirming", async () => {
    const u = userEvent.setup();
    const onConfirm = vi.fn(async () => {});
    wrap(<Host onConfirm={onConfirm} />);
    await u.click(screen.getByRole("button", { name: "Ask" }));
    const d = within(await screen.findByRole("dialog", { name: "Remove Alex?" }));
    await u.click(d.getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    expect(onConfirm).not.toHaveBeenCalled();
  });

  it("stays open with the engine's message when the action fails, and forgets it when reopened", async () => {
    const u = userEvent.setup();
    const onConfirm = vi.fn(async () => {
      throw { code: "not_found", message: "no such user" };
    });
    wrap(<Host onConfirm={onConfirm} />);
    await u.click(screen.getByRole("button", { name: "Ask" }));
    let d = within(await screen.findByRole("dialog", { name: "Remove Alex?" }));
    await u.click(d.getByRole("button", { name: "Remove" }));
    const alert = await d.findByRole("alert");
    expect(alert).toHaveTextContent("Alex wasn't removed");
    expect(alert).toHaveTextContent("no such user");
    expect(d.getByRole("button", { name: "Remove" })).toBeEnabled();
    await u.click(d.getByRole("button", { name: "Cancel" }));
    await waitFor(() => expect(screen.queryByRole("dialog")).not.toBeInTheDocument());
    await u.click(screen.getByRole("button", { name: "Ask" }));
    d = within(await screen.findByRole("dialog", { name: "Remove Alex?" }));
    expect(d.queryByRole("alert")).not.toBeInTheDocument();
  });
});
