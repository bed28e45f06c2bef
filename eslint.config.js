// eslint (typescript-eslint's recommended rules, without type information so a run stays quick) and
// prettier (.prettierrc.json) keep the code in one shape; `npm test` runs both (`npm run lint`).
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", ".cache/", "data/", "imports/", "bench/results/", "test/fixtures/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: "module", globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    // Tests, benchmarks and scripts read answers of any shape (HTTP bodies, exports, bench output)
    // and assert on them; typing each would restate the schemas the product already checks.
    files: ["test/**", "bench/**", "scripts/**"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
