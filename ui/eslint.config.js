// ESLint for the admin center (`npm run lint`, run by `make lint`).
// typescript-eslint's recommended rules (syntax only: `npm run typecheck` does
// the types), the Rules of Hooks and the React Compiler's checks
// (eslint-plugin-react-hooks, every recommended rule an error) and
// accessibility (eslint-plugin-jsx-a11y). A finding is fixed, or silenced on
// its line with `// eslint-disable-next-line rule -- why`.
import js from "@eslint/js";
import jsxA11y from "eslint-plugin-jsx-a11y";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

const hooks = reactHooks.configs.flat.recommended;

export default tseslint.config(
  { ignores: ["dist/", "node_modules/"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ["src/**/*.{ts,tsx}"],
    ...jsxA11y.flatConfigs.recommended,
    languageOptions: {
      ...jsxA11y.flatConfigs.recommended.languageOptions,
      globals: { ...globals.browser },
    },
  },
  {
    files: ["src/**/*.{ts,tsx}"],
    plugins: hooks.plugins,
    // The plugin warns on some of them; here a warning would go unread.
    rules: Object.fromEntries(Object.keys(hooks.rules).map((rule) => [rule, "error"])),
  },
  {
    files: ["*.{js,ts}", "scripts/**/*.mjs"],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // Unused names are tsc's (noUnusedLocals, noUnusedParameters), which
      // knows `_`-prefixed parameters are deliberate.
      "@typescript-eslint/no-unused-vars": "off",
    },
  },
);
