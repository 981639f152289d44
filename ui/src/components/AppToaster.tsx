// The window's one Toaster, in a chunk of its own (Fluent's toast code is ~58 kB):
// App loads it beside the first page instead of parsing it before the first paint.
import { Toaster } from "@fluentui/react-components";
import { TOASTER_ID } from "../toaster";

export default function AppToaster() {
  return <Toaster toasterId={TOASTER_ID} position="bottom-end" />;
}
