/**
 * Schema migrations, applied in order, each in its own transaction. Never edit a released migration:
 * add a new one. The number is the schema version recorded in `schema_migrations`.
 */
import { m001Foundation } from "./001-foundation.js";
import { m002Commands } from "./002-commands.js";
import { m003Users } from "./003-users.js";
import { m004UserGroupsBindings } from "./004-user-groups-bindings.js";
import { m005Mfa } from "./005-mfa.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [m001Foundation, m002Commands, m003Users, m004UserGroupsBindings, m005Mfa];
