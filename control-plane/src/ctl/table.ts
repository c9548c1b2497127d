/** A value as a table shows it; null, undefined and "" print as "-" so no cell is blank. */
export type Cell = string | number | null | undefined;

export interface Column<T> {
  header: string;
  value: (row: T) => Cell;
  /** Numbers read better right-aligned. */
  align?: "left" | "right";
}

const GAP = "  ";

/** Aligned columns under upper-case headers, one row per line, with no trailing spaces. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const lines = [columns.map((c) => c.header.toUpperCase()), ...rows.map((row) => columns.map((c) => cellText(c.value(row))))];
  const widths = columns.map((_, i) => Math.max(...lines.map((line) => width(line[i]!))));
  return lines
    .map((line) =>
      line
        .map((text, i) => (columns[i]!.align === "right" ? pad(text, widths[i]!, "start") : pad(text, widths[i]!, "end")))
        .join(GAP)
        .trimEnd(),
    )
    .join("\n");
}

/**
 * `Label:  value` lines with the values aligned, for one object. A list value prints one item per
 * line, continuation lines indented under the first.
 */
export function renderFields(fields: readonly (readonly [label: string, value: Cell | readonly string[]])[]): string {
  const labelWidth = Math.max(...fields.map(([label]) => width(label) + 1));
  const indent = " ".repeat(labelWidth + GAP.length);
  return fields
    .map(([label, value]) => {
      const values = Array.isArray(value) ? (value.length > 0 ? value : ["-"]) : [cellText(value as Cell)];
      const [first, ...rest] = values;
      return [`${pad(`${label}:`, labelWidth, "end")}${GAP}${first}`, ...rest.map((line) => `${indent}${line}`)].join("\n");
    })
    .join("\n");
}

function cellText(value: Cell): string {
  return value === null || value === undefined || value === "" ? "-" : String(value);
}

// Code points rather than UTF-16 units, so names with emoji or accents do not skew the columns much.
function width(text: string): number {
  return [...text].length;
}

function pad(text: string, to: number, side: "start" | "end"): string {
  const fill = " ".repeat(Math.max(0, to - width(text)));
  return side === "start" ? fill + text : text + fill;
}
