// What a transport is: the shape of the channel between the UI and the shell
// (Tauri's `invoke` and `listen` in the app, the in-memory mock in a plain
// browser and in tests), and the names of the events it carries. Both
// client.ts (which picks a transport) and the mock (which is one) import
// these from here; client.ts re-exports them for the rest of the UI.

export type InvokeArgs = Record<string, unknown>;
export type InvokeFn = (cmd: string, args?: InvokeArgs) => Promise<unknown>;
export type Unlisten = () => void;
export type ListenFn = (event: string, handler: (payload: unknown) => void) => Promise<Unlisten>;

export type ExportFormat = "csv" | "jsonl";

export type SaveDialogOptions = {
  /** What will be written; the shell picks the file type from it. */
  format: ExportFormat;
  title?: string;
  defaultPath?: string;
  filters?: Array<{ name: string; extensions: string[] }>;
};
/** Shows a "save as" dialog; resolves to the chosen path, or null when canceled. */
export type SaveDialogFn = (options: SaveDialogOptions) => Promise<string | null>;

export type Transport = {
  invoke: InvokeFn;
  listen: ListenFn;
  saveDialog: SaveDialogFn;
};

export const CHANGED_EVENT = "lockbox://changed";
/** Emitted by the shell (e.g. the tray's "Open requests") with a page name. */
export const NAVIGATE_EVENT = "lockbox://navigate";
/** Emitted by the shell when the team server is lost or back: ask get_connection again. */
export const CONNECTION_EVENT = "lockbox://connection";
