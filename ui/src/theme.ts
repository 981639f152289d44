import { type Theme, webDarkTheme, webLightTheme } from "@fluentui/react-components";

// Fluent's font stacks name families for Windows, macOS and the web ('Segoe UI
// Web (West European)', -apple-system, BlinkMacSystemFont, Roboto, 'Helvetica
// Neue'). The admin center runs in WebKitGTK on Linux, where each family the
// machine lacks is looked up again in the first layout and paint: 40-80 ms of
// the first paint (BENCHMARKS.md §6, crates/lockbox-bench/first-frame.mjs).
// Segoe UI where it is installed, else the system's sans-serif: what the
// stacks came to on a machine without Roboto or Helvetica Neue.
const fonts = {
  fontFamilyBase: "'Segoe UI', sans-serif",
  fontFamilyMonospace: "Consolas, monospace",
  fontFamilyNumeric: "Bahnschrift, 'Segoe UI', sans-serif",
} satisfies Partial<Theme>;

export const lightTheme: Theme = { ...webLightTheme, ...fonts };
export const darkTheme: Theme = { ...webDarkTheme, ...fonts };
