import type { ListQuery, ListSpec, Page } from "../domain/list-query.js";
import type { Db } from "./db.js";
import { buildListSql } from "./list-sql.js";

/** Runs a paged list over one table (or a FROM clause) and maps each row. */
export function listPage<Row, T>(
  db: Db,
  from: string,
  select: string,
  query: ListQuery,
  spec: ListSpec,
  map: (row: Row) => T,
  extraWhere: string[] = [],
  extraParams: unknown[] = [],
): Page<T> {
  const sql = buildListSql(query, spec, extraWhere, extraParams);
  const total = db.prepare(`SELECT COUNT(*) AS n FROM ${from} ${sql.where}`).get(...sql.params) as { n: number };
  const rows = db
    .prepare(`SELECT ${select} FROM ${from} ${sql.where} ${sql.orderBy} LIMIT ? OFFSET ?`)
    .all(...sql.params, query.limit, query.skip) as Row[];
  return { results: rows.map(map), totalCount: total.n };
}
