import { MessageBar, MessageBarBody, MessageBarTitle } from "@fluentui/react-components";

/** Shows the engine's error message; nothing fails silently. */
export function ErrorBar({ error, title }: { error: string | null; title?: string }) {
  if (!error) return null;
  return (
    <MessageBar intent="error" role="alert">
      <MessageBarBody>
        {title ? <MessageBarTitle>{title}</MessageBarTitle> : null}
        {error}
      </MessageBarBody>
    </MessageBar>
  );
}
