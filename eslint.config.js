// Lint rules, including the layering rules from DESIGN.md: the project's shared/ imports nothing of
// ours, HTTP routes never reach the store, and only the agent's composition root picks an OS driver.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const restrict = (patterns) => ({
  "no-restricted-imports": ["error", { patterns }],
});

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", "data/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2023, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
    },
  },
  {
    files: ["shared/**/*.ts"],
    rules: restrict([
      { group: ["**/agent/**", "**/control-plane/**", "**/scripts/**", "**/test/**"], message: "shared/ imports nothing of ours." },
    ]),
  },
  {
    files: ["control-plane/src/http/**/*.ts"],
    rules: restrict([
      { group: ["**/store/**", "better-sqlite3"], message: "HTTP routes call services, never the store." },
      { group: ["**/agent/**"], message: "The control plane does not import the agent." },
    ]),
  },
  {
    files: ["control-plane/src/ctl/**/*.ts"],
    rules: restrict([
      { group: ["**/store/**", "**/services/**", "**/http/**", "**/gateway/**", "better-sqlite3"], message: "tetherctl is a REST client: it talks to the control plane over HTTP only." },
      { group: ["**/agent/**"], message: "The control plane does not import the agent." },
    ]),
  },
  {
    files: ["control-plane/**/*.ts"],
    ignores: ["control-plane/src/http/**", "control-plane/src/ctl/**"],
    rules: restrict([{ group: ["**/agent/**"], message: "The control plane does not import the agent." }]),
  },
  {
    files: ["agent/**/*.ts"],
    ignores: ["agent/src/main.ts", "agent/src/os/**"],
    rules: restrict([
      { group: ["**/os/linux/**", "**/os/darwin/**", "**/os/windows/**", "**/os/select*"], message: "Only agent/src/main.ts chooses the OS driver; depend on the interfaces in os/types." },
      { group: ["**/control-plane/**"], message: "The agent does not import the control plane." },
    ]),
  },
);
