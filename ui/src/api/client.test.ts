import { afterEach, describe, expect, it, vi } from "vitest";

const tauri = vi.hoisted(() => ({
  invoke: vi.fn(),
  listen: vi.fn(),
  save: vi.fn(),
}));
vi.mock("@tauri-apps/api/core", () => ({ invoke: tauri.invoke }));
vi.mock("@tauri-apps/api/event", () => ({ listen: tauri.listen }));
vi.mock("@tauri-apps/plugin-dialog", () => ({ save: tauri.save }));

import {
  approveRequest,
  createTauriTransport,
  errorMessage,
  exportAudit,
  getSession,
  listRequests,
  onLockboxEvent,
  saveDialog,
  setTransport,
} from "./client";

afterEach(() => {
  delete (window as unknown as Record<string, unknown>).__TAURI_INTERNALS__;
  vi.clearAllMocks();
});

describe("Tauri transport", () => {
  it("is chosen when __TAURI_INTERNALS__ exists and passes command names and camelCase args", async () => {
    (window as unknown as Record<string, unknown>).__TAURI_INTERNALS__ = {};
    setTransport(null);
    tauri.invoke.mockResolvedValueOnce({ items: [], next_cursor: null, total: 0 });
    const q = { states: ["pending" as const], search: null, sort: "newest" as const, cursor: null, limit: 20 };
    await expect(listRequests("contoso", q)).resolves.toEqual({ items: [], next_cursor: null, total: 0 });
    expect(tauri.invoke).toHaveBeenCalledWith("list_requests", { tenant: "contoso", query: q });

    tauri.invoke.mockResolvedValueOnce({});
    await approveRequest("contoso", "r1", null, 900);
    expect(tauri.invoke).toHaveBeenLastCalledWith("approve_request", { tenant: "contoso", id: "r1", comment: null, durationS: 900 });

    tauri.invoke.mockResolvedValueOnce(12);
    await exportAudit("contoso", { since: null, until: null, request_id: null, actor: null, operation: null, text: null, before_seq: null, limit: null }, "jsonl", "/tmp/x.jsonl");
    expect(tauri.invoke).toHaveBeenLastCalledWith("export_audit", expect.objectContaining({ tenant: "contoso", format: "jsonl", path: "/tmp/x.jsonl" }));
  });

  it("asks the shell's choose_export_path for the save dialog", async () => {
    setTransport(await createTauriTransport());
    tauri.invoke.mockResolvedValueOnce("/home/a/out.csv");
    const opts = { format: "csv" as const, defaultPath: "a.csv", filters: [{ name: "CSV", extensions: ["csv"] }] };
    await expect(saveDialog(opts)).resolves.toBe("/home/a/out.csv");
    expect(tauri.invoke).toHaveBeenCalledWith("choose_export_path", { format: "csv" });
    expect(tauri.save).not.toHaveBeenCalled();
    tauri.invoke.mockResolvedValueOnce(null);
    await expect(saveDialog(opts)).resolves.toBeNull();
    tauri.invoke.mockRejectedValueOnce({ code: "invalid_input", message: "unknown export format" });
    await expect(saveDialog(opts)).rejects.toMatchObject({ code: "invalid_input" });
  });

  it("falls back to plugin-dialog save() when the shell lacks choose_export_path", async () => {
    setTransport(await createTauriTransport());
    tauri.invoke.mockRejectedValueOnce("command choose_export_path not found");
    tauri.save.mockResolvedValueOnce("/home/a/out.jsonl");
    const opts = { format: "jsonl" as const, defaultPath: "a.jsonl", filters: [{ name: "JSON Lines", extensions: ["jsonl"] }] };
    await expect(saveDialog(opts)).resolves.toBe("/home/a/out.jsonl");
    expect(tauri.save).toHaveBeenCalledWith({ defaultPath: "a.jsonl", filters: [{ name: "JSON Lines", extensions: ["jsonl"] }] });
  });

  it("subscribes to lockbox://changed and unwraps payloads", async () => {
    const unlisten = vi.fn();
    let emit: (e: { payload: unknown }) => void = () => {};
    tauri.listen.mockImplementationOnce(async (_name: string, cb: (e: { payload: unknown }) => void) => {
      emit = cb;
      return unlisten;
    });
    setTransport(await createTauriTransport());
    const seen: unknown[] = [];
    const stop = onLockboxEvent((e) => seen.push(e));
    await vi.waitFor(() => expect(tauri.listen).toHaveBeenCalledWith("lockbox://changed", expect.any(Function)));
    emit({ payload: { kind: "requests_changed", tenant: "contoso" } });
    emit({ payload: "garbage" });
    expect(seen).toEqual([{ kind: "requests_changed", tenant: "contoso" }]);
    stop();
    expect(unlisten).toHaveBeenCalled();
  });
});

describe("errors", () => {
  it("passes ErrorDto through and normalises other rejections", async () => {
    const invoke = vi.fn();
    setTransport({ invoke, listen: async () => () => {}, saveDialog: async () => null });
    invoke.mockRejectedValueOnce({ code: "invalid_state", message: "Not pending." });
    await expect(getSession()).rejects.toEqual({ code: "invalid_state", message: "Not pending." });
    invoke.mockRejectedValueOnce("plain string from Rust");
    await expect(getSession()).rejects.toEqual({ code: "internal", message: "plain string from Rust" });
    invoke.mockRejectedValueOnce(new Error("boom"));
    await expect(getSession()).rejects.toEqual({ code: "internal", message: "boom" });
    expect(errorMessage({ code: "x", message: "shown" })).toBe("shown");
  });

  it("falls back to the mock transport in a plain browser", async () => {
    setTransport(null);
    const s = await getSession();
    expect(s.user).toBe("Alex Wilber");
    expect(s.tenants.map((t) => t.id)).toEqual(["contoso", "fabrikam"]);
  });
});
