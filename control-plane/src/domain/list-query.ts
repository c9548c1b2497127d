import { ValidationError } from "../errors.js";

/**
 * Paging, sorting and filtering of lists, as DESIGN.md's REST conventions put them:
 * `?limit=&skip=&sort=-field,other&filter=field:op:value` (filters repeat and combine with AND).
 * Each resource declares which fields can be sorted and filtered and the column behind each, so a
 * client can never reach a column it was not offered.
 */
export const FILTER_OPS = ["eq", "ne", "lt", "lte", "gt", "gte", "in", "search"] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

export interface Filter {
  field: string;
  op: FilterOp;
  /** `in` carries several values (separated by `|` in the query string). */
  value: string | string[];
}

export interface SortKey {
  field: string;
  descending: boolean;
}

export interface ListQuery {
  limit: number;
  skip: number;
  sort: SortKey[];
  filters: Filter[];
}

export interface Page<T> {
  results: T[];
  totalCount: number;
}

export interface ListField {
  column: string;
  sortable?: boolean;
  filterable?: boolean;
  /** Allowed values for an enum-like field; a filter with another value is a 400. */
  values?: readonly string[];
}

export interface ListSpec {
  fields: Record<string, ListField>;
  /** The id column: always the last sort key so pages are stable. */
  idColumn: string;
  /** Used when the request names no sort; absent: by id (creation order). */
  defaultSort?: SortKey[];
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export interface RawListParams {
  limit?: string | undefined;
  skip?: string | undefined;
  sort?: string | undefined;
  filter?: string | string[] | undefined;
}

export function parseListQuery(raw: RawListParams, spec: ListSpec): ListQuery {
  return {
    limit: parseCount("limit", raw.limit, DEFAULT_LIMIT, 1, MAX_LIMIT),
    skip: parseCount("skip", raw.skip, 0, 0, Number.MAX_SAFE_INTEGER),
    sort: parseSort(raw.sort, spec),
    filters: (raw.filter === undefined ? [] : Array.isArray(raw.filter) ? raw.filter : [raw.filter]).map((f) => parseFilter(f, spec)),
  };
}

function parseCount(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw ValidationError.field(name, `must be a whole number between ${min} and ${max}`);
  const value = Number(raw);
  if (value < min || value > max) throw ValidationError.field(name, `must be between ${min} and ${max}`);
  return value;
}

function parseSort(raw: string | undefined, spec: ListSpec): SortKey[] {
  if (!raw) return [];
  return raw.split(",").map((part) => {
    const descending = part.startsWith("-");
    const field = descending ? part.slice(1) : part;
    if (!spec.fields[field]?.sortable) {
      throw ValidationError.field("sort", `cannot sort by "${field}"; sortable fields: ${names(spec, "sortable")}`);
    }
    return { field, descending };
  });
}

function parseFilter(raw: string, spec: ListSpec): Filter {
  const first = raw.indexOf(":");
  const second = first < 0 ? -1 : raw.indexOf(":", first + 1);
  if (first < 0 || second < 0) {
    throw ValidationError.field("filter", `"${raw}" must look like field:op:value, e.g. hostname:eq:web-1`);
  }
  const field = raw.slice(0, first);
  const op = raw.slice(first + 1, second).replace(/^\$/, "");
  const value = raw.slice(second + 1);
  const spec_ = spec.fields[field];
  if (!spec_?.filterable) {
    throw ValidationError.field("filter", `cannot filter by "${field}"; filterable fields: ${names(spec, "filterable")}`);
  }
  if (!(FILTER_OPS as readonly string[]).includes(op)) {
    throw ValidationError.field("filter", `unknown operator "${op}"; use one of ${FILTER_OPS.join(", ")}`);
  }
  const values = op === "in" ? value.split("|") : [value];
  if (spec_.values) {
    const bad = values.find((v) => !spec_.values!.includes(v));
    if (bad !== undefined && op !== "search") {
      throw ValidationError.field("filter", `"${bad}" is not a valid ${field}; use one of ${spec_.values.join(", ")}`);
    }
  }
  return { field, op: op as FilterOp, value: op === "in" ? values : value };
}

function names(spec: ListSpec, flag: "sortable" | "filterable"): string {
  return Object.entries(spec.fields)
    .filter(([, f]) => f[flag])
    .map(([name]) => name)
    .join(", ");
}
