import { createHash } from "node:crypto";
import type { Inventory } from "../../../shared/src/protocol/inventory.js";

/**
 * SHA-256 (hex) of the inventory in canonical JSON, so the agent sends the inventory only when this
 * changes. Object keys are sorted, so the digest does not depend on the order fields were set in; array
 * order is kept, as collectInventory already sorts arrays.
 */
export function inventoryDigest(inv: Inventory): string {
  return createHash("sha256").update(canonicalJson(inv)).digest("hex");
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      // As JSON.stringify does: an absent optional field and an undefined one are the same document.
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
