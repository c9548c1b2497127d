import type { ListQuery, ListSpec } from "../domain/list-query.js";

const OPERATORS: Record<string, string> = { eq: "=", ne: "<>", lt: "<", lte: "<=", gt: ">", gte: ">=" };

export interface ListSql {
  where: string;
  orderBy: string;
  params: unknown[];
}

/**
 * Turns a validated ListQuery into SQL fragments. Column names come only from the resource's spec,
 * never from the request; values are always bound parameters.
 */
export function buildListSql(query: ListQuery, spec: ListSpec, extraWhere: string[] = [], extraParams: unknown[] = []): ListSql {
  const clauses = [...extraWhere];
  const params = [...extraParams];
  for (const filter of query.filters) {
    const column = spec.fields[filter.field]!.column;
    if (filter.op === "in") {
      const values = filter.value as string[];
      clauses.push(`${column} IN (${values.map(() => "?").join(", ")})`);
      params.push(...values);
    } else if (filter.op === "search") {
      clauses.push(`${column} LIKE ? ESCAPE '\\'`);
      params.push(`%${String(filter.value).replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    } else {
      clauses.push(`${column} ${OPERATORS[filter.op]} ?`);
      params.push(filter.value);
    }
  }
  const sort = query.sort.length > 0 ? query.sort : (spec.defaultSort ?? []);
  const order = sort.map((s) => `${spec.fields[s.field]!.column} ${s.descending ? "DESC" : "ASC"}`);
  // The id breaks ties in the direction of the last key, so "newest first" stays newest first.
  order.push(`${spec.idColumn} ${sort.at(-1)?.descending ? "DESC" : "ASC"}`);
  return {
    where: clauses.length > 0 ? `WHERE ${clauses.join(" AND ")}` : "",
    orderBy: `ORDER BY ${order.join(", ")}`,
    params,
  };
}

/** The same spec with every column prefixed by a table alias, for lists over joins. */
export function qualify(spec: ListSpec, alias: string): ListSpec {
  const fields = Object.fromEntries(Object.entries(spec.fields).map(([name, f]) => [name, { ...f, column: `${alias}.${f.column}` }]));
  return { ...spec, idColumn: `${alias}.${spec.idColumn}`, fields };
}

export function qualifyColumns(columns: string, alias: string): string {
  return columns
    .split(",")
    .map((c) => `${alias}.${c.trim()}`)
    .join(", ");
}
