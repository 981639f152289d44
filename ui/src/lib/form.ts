import { useState } from "react";
import { useOnChange } from "./hooks";
import { errorMessage } from "../api/client";

/**
 * Busy state and error message of a save or confirm action. `run(action)`
 * marks it busy, clears the last error, and keeps the engine's message if the
 * action fails (the dialog or panel stays open to show it). Both are reset
 * whenever `resetOn` turns truthy: when the dialog or panel opens.
 */
export function useSubmit(resetOn: unknown) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useOnChange(resetOn, (now) => {
    if (now) {
      setBusy(false);
      setError(null);
    }
  });
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

/** A Field's validation props for a field error (none when `message` is empty). */
export function fieldValidation(message: string | undefined) {
  return { validationMessage: message, validationState: message ? ("error" as const) : ("none" as const) };
}
