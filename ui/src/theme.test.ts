import { webDarkTheme, webLightTheme } from "@fluentui/react-components";
import { describe, expect, it } from "vitest";
import { darkTheme, lightTheme } from "./theme";

const FONTS = ["fontFamilyBase", "fontFamilyMonospace", "fontFamilyNumeric"];

describe("theme", () => {
  it("is Fluent's web theme with shorter font stacks, each ending in a generic family", () => {
    for (const [ours, fluent] of [
      [lightTheme, webLightTheme],
      [darkTheme, webDarkTheme],
    ] as const) {
      const others = (t: object) => Object.entries(t).filter(([k]) => !FONTS.includes(k));
      expect(others(ours)).toEqual(others(fluent));
      for (const k of FONTS) {
        const stack = ours[k as keyof typeof ours] as string;
        const families = stack.split(",").map((f) => f.trim());
        expect(families.length).toBeLessThan((fluent[k as keyof typeof fluent] as string).split(",").length);
        expect(["sans-serif", "monospace"]).toContain(families.at(-1));
        expect(families).not.toContain("-apple-system");
      }
    }
  });
});
