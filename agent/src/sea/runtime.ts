import type * as Sea from "node:sea";

/**
 * The `node:sea` API when this process is a Node single executable application (the native agent
 * binary), undefined otherwise (running from source).
 *
 * `process.getBuiltinModule` instead of an import keeps `node:sea` (Node ≥ 20.12) out of the static
 * imports, so the source still loads on any Node 20.
 */
export function seaApi(): typeof Sea | undefined {
  const sea = process.getBuiltinModule?.("node:sea");
  return sea?.isSea() ? sea : undefined;
}

/** True inside the native agent binary. */
export function isSea(): boolean {
  return seaApi() !== undefined;
}
