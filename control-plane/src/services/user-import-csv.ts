import { CsvError, parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import {
  ATTRIBUTE_COLUMN,
  CONFIRMATION_COLUMNS,
  EXTENDED_COLUMNS,
  EXTENDED_REQUIRED,
  GROUP_COLUMN,
  PORTAL_COLUMNS,
  templateColumns,
  type ImportFormat,
  type ImportResult,
} from "../domain/user-import.js";
import { AppError, ValidationError, type FieldProblem } from "../errors.js";

/**
 * Reading and writing the import's CSV. Real files come from Excel, Google Sheets, PowerShell's
 * Export-Csv and hand editing: a UTF-8 BOM, CRLF, quoted cells with commas, quotes and line breaks,
 * Excel's `sep=;` first line, rows of nothing but commas, blank lines at the end.
 */

/** One data row: cells by column name (the extended spelling, also for portal files). */
export interface CsvRecord {
  row: number;
  cells: ReadonlyMap<string, string>;
  /** How many cells the row has, when it is not as many as the header has columns. */
  cellCountMismatch: number | null;
}

export interface UserCsv {
  format: ImportFormat;
  /** Column name → as the file spells it, for messages (`email` in a portal file, `Email` in an extended one). */
  spelling: ReadonlyMap<string, string>;
  /** The numbers N of the header's `GroupN` columns, in order. */
  groups: string[];
  /** The numbers N of the header's `AttributeN_name`/`_value` pairs, in order. */
  attributes: string[];
  records: CsvRecord[];
}

/** Portal columns under the extended names the row reader knows. */
const PORTAL_TO_EXTENDED: Record<(typeof PORTAL_COLUMNS)[number], string> = {
  firstname: "FirstName",
  lastname: "LastName",
  username: "Username",
  email: "Email",
  password: "Password",
};

const PORTAL_HEADER = PORTAL_COLUMNS.join(",");
const EXTENDED_HINT = "GET /api/v1/users/import/template?format=extended lists the extended columns";
const KNOWN_BY_LOWER_CASE = new Map([...PORTAL_COLUMNS, ...EXTENDED_COLUMNS].map((name) => [name.toLowerCase(), name]));

/** Excel's first line naming the delimiter, e.g. `sep=;` (quoted by some exporters). */
const SEP_LINE = /^"?sep=(.)"?[ \t]*(?:\r\n|\n|\r|$)/i;

/**
 * The file as a format and rows. A header that is neither format's is a 400 naming every column at
 * fault; more than `maxRows` rows is a 413 (parsing stops there).
 */
export function readUserCsv(text: string, maxRows: number): UserCsv {
  let body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  let delimiter = ",";
  const sep = SEP_LINE.exec(body);
  if (sep) {
    delimiter = sep[1]!;
    body = body.slice(sep[0].length);
  }
  const parsed = parseCsv(body, delimiter, maxRows + 2);
  const header = parsed[0];
  if (!header) {
    throw new ValidationError(`the file is empty: its first line must be the header, e.g. ${PORTAL_HEADER}`, [{ field: "header", reason: "missing" }]);
  }
  const { format, names } = readHeader(header);
  if (parsed.length === 1) throw new ValidationError("the file has a header but no rows", [{ field: "rows", reason: "none" }]);
  if (parsed.length > maxRows + 1) {
    throw new AppError(413, "too_many_rows", `the file has more than ${maxRows} rows, the most one import takes (TETHER_MAX_IMPORT_ROWS); split it into smaller files`);
  }
  const spelling = new Map(names.map((name, i) => [name, header[i]!]));
  // Skipped blank rows are not counted, so the header is row 1 and the n-th record row n.
  const records = parsed.slice(1).map((record, index): CsvRecord => ({
    row: index + 2,
    cells: new Map(names.map((name, i) => [name, record[i] ?? ""])),
    cellCountMismatch: record.length === names.length ? null : record.length,
  }));
  return { format, spelling, groups: numbered(names, GROUP_COLUMN), attributes: numbered(names, ATTRIBUTE_COLUMN), records };
}

/** The numbers N of a numbered column family (`GroupN`, `AttributeN_…`), in order. */
function numbered(names: string[], pattern: RegExp): string[] {
  const numbers = names.map((name) => pattern.exec(name)?.[1]).filter((n): n is string => n !== undefined);
  return [...new Set(numbers)].sort((a, b) => Number(a) - Number(b));
}

function parseCsv(body: string, delimiter: string, limit: number): string[][] {
  try {
    return parse(body, {
      delimiter,
      // Rows of another width are reported per row, not as a broken file.
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_empty_values: true,
      to: limit,
    });
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    // csv-parse's own messages quote the text around the fault, which may be a password: say where, not what.
    const line = typeof error.lines === "number" ? ` at line ${error.lines}` : "";
    throw new ValidationError(`the file is not valid CSV${line}: ${CSV_FAULTS[error.code] ?? `it cannot be read (${error.code})`}`, [
      { field: "file", reason: error.code },
    ]);
  }
}

const CSV_FAULTS: Partial<Record<string, string>> = {
  CSV_QUOTE_NOT_CLOSED: "a quoted cell is never closed",
  CSV_INVALID_CLOSING_QUOTE: 'a quoted cell has more text after its closing quote (inside a quoted cell, write a quote as two: "")',
  CSV_INVALID_OPENING_QUOTE: 'a cell that does not start with a quote has one inside it (quote the whole cell and write the quote as two: "")',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: "a quoted cell has more text after its closing quote",
};

/** The format a header is in and its column names in the extended spelling; a 400 listing every fault otherwise. */
function readHeader(header: string[]): { format: ImportFormat; names: string[] } {
  if (header.length === PORTAL_COLUMNS.length && header.every((cell, i) => cell === PORTAL_COLUMNS[i])) {
    return { format: "portal", names: PORTAL_COLUMNS.map((name) => PORTAL_TO_EXTENDED[name]) };
  }
  const problems = headerProblems(header);
  if (problems.length === 0) return { format: "extended", names: header };

  const looksPortal = header.length === PORTAL_COLUMNS.length && header.every((cell, i) => cell.trim().toLowerCase() === PORTAL_COLUMNS[i]);
  const single = header.length === 1 ? /[;\t|]/.exec(header[0]!) : null;
  const message = looksPortal
    ? `the header must be exactly ${PORTAL_HEADER} (the portal format; names are case-sensitive), not ${header.join(",")}`
    : single
      ? `the header is one column: the file seems separated by "${single[0] === "\t" ? "\\t" : single[0]}", not commas; save it with commas or make its first line sep=${single[0]}`
      : `the header is neither format's: ${problems.map((p) => p.reason).join("; ")}. The portal format's header is exactly ${PORTAL_HEADER}; ${EXTENDED_HINT}`;
  throw new ValidationError(message, problems);
}

function headerProblems(header: string[]): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  /** Columns a miscased name was taken for: not reported missing as well. */
  const suggested = new Set<string>();
  const attributes = new Map<string, Set<string>>();
  header.forEach((name, i) => {
    if (name.trim() === "") {
      problems.push({ field: `column ${i + 1}`, reason: `column ${i + 1} has no name` });
      return;
    }
    if (seen.has(name)) problems.push({ field: name, reason: `column "${name}" appears twice` });
    seen.add(name);
    const attribute = ATTRIBUTE_COLUMN.exec(name);
    if (attribute) attributes.set(attribute[1]!, (attributes.get(attribute[1]!) ?? new Set()).add(attribute[2]!));
    if (EXTENDED_COLUMNS.includes(name) || GROUP_COLUMN.test(name) || attribute) return;
    const meant = KNOWN_BY_LOWER_CASE.get(name.trim().toLowerCase()) ?? caseOfNumbered(name);
    const extended = meant && PORTAL_TO_EXTENDED[meant as keyof typeof PORTAL_TO_EXTENDED];
    if (meant) suggested.add(extended ?? meant);
    const hint = meant ? ` (names are case-sensitive: did you mean "${extended ?? meant}"?)` : "";
    problems.push({ field: name, reason: `unknown column "${name}"${hint}` });
  });
  for (const required of EXTENDED_REQUIRED) {
    if (!seen.has(required) && !suggested.has(required)) {
      problems.push({ field: required, reason: `the column "${required}" is missing` });
    }
  }
  for (const [n, parts] of attributes) {
    if (parts.size === 1) {
      const missing = parts.has("name") ? "value" : "name";
      problems.push({ field: `Attribute${n}_${missing}`, reason: `Attribute${n}_name and Attribute${n}_value go together: the column "Attribute${n}_${missing}" is missing` });
    }
  }
  return problems;
}

/** `group1` → `Group1`, `attribute2_Value` → `Attribute2_value`: the spelling a miscased numbered column should have. */
function caseOfNumbered(name: string): string | undefined {
  const group = /^group([1-9]\d*)$/i.exec(name.trim());
  if (group) return `Group${group[1]}`;
  const attribute = /^attribute([1-9]\d*)_(name|value)$/i.exec(name.trim());
  return attribute ? `Attribute${attribute[1]}_${attribute[2]!.toLowerCase()}` : undefined;
}

/** The template: the header of a format and no rows. */
export function templateCsv(format: ImportFormat): string {
  return toCsv([templateColumns(format)]);
}

/**
 * The confirmation CSV of an import, one line per row. It starts with a UTF-8 BOM so that Excel reads
 * non-ASCII names right.
 */
export function confirmationCsv(result: ImportResult): string {
  const lines = result.rows.map((row) => [
    String(row.row),
    row.username,
    row.status,
    row.userId ?? "",
    row.errors.map((e) => `${e.field}: ${e.message}`).join("; "),
    row.groups.map((g) => `${g.name}: ${g.status}`).join("; "),
    row.devices.map((d) => `${d.deviceId}${d.administrator ? " (administrator)" : ""}: ${d.status}`).join("; "),
  ]);
  return "\uFEFF" + toCsv([[...CONFIRMATION_COLUMNS], ...lines.map((cells) => cells.map(defuseFormula))]);
}

function toCsv(rows: string[][]): string {
  return stringify(rows, { record_delimiter: "windows" });
}

/**
 * A cell that a spreadsheet would run as a formula (=, +, -, @, or a tab or CR first) gets a leading
 * apostrophe: group names and messages in the confirmation come from the uploaded file (OWASP's advice
 * on CSV injection).
 */
function defuseFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}
