import type { Migration } from "./index.js";

// Times are stored as ISO-8601 UTC text: they sort correctly and read well in the sqlite3 shell.
export const m001Foundation: Migration = {
  version: 1,
  name: "foundation",
  sql: `
CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  role         TEXT NOT NULL,
  key_hash     TEXT NOT NULL UNIQUE,
  prefix       TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  created_by   TEXT,
  last_used_at TEXT,
  revoked_at   TEXT
);

CREATE TABLE connect_keys (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  secret_hash TEXT NOT NULL UNIQUE,
  created_at  TEXT NOT NULL,
  created_by  TEXT,
  expires_at  TEXT,
  max_uses    INTEGER,
  uses        INTEGER NOT NULL DEFAULT 0,
  last_used_at TEXT,
  revoked_at  TEXT
);

CREATE TABLE devices (
  id                 TEXT PRIMARY KEY,
  display_name       TEXT NOT NULL,
  hostname           TEXT NOT NULL,
  os                 TEXT NOT NULL,
  os_version         TEXT NOT NULL DEFAULT '',
  arch               TEXT NOT NULL DEFAULT '',
  agent_version      TEXT NOT NULL DEFAULT '',
  protocol_version   INTEGER NOT NULL DEFAULT 0,
  status             TEXT NOT NULL DEFAULT 'offline',
  last_contact       TEXT,
  remote_ip          TEXT,
  enrolled_at        TEXT NOT NULL,
  connect_key_id     TEXT,
  cert_serial        TEXT NOT NULL,
  cert_not_after     TEXT NOT NULL,
  machine            TEXT,
  clone_suspected_at TEXT,
  desired_revision   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_hostname ON devices (hostname);
CREATE INDEX devices_status ON devices (status);

-- A deleted device leaves its id here so its agent is told "revoked", not "unknown".
CREATE TABLE device_revocations (
  device_id  TEXT PRIMARY KEY,
  revoked_at TEXT NOT NULL
);

CREATE TABLE device_inventory (
  device_id  TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
  inventory  TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE device_groups (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE COLLATE NOCASE,
  description TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

CREATE TABLE device_group_members (
  group_id  TEXT NOT NULL REFERENCES device_groups (id) ON DELETE CASCADE,
  device_id TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
  added_at  TEXT NOT NULL,
  PRIMARY KEY (group_id, device_id)
);
CREATE INDEX device_group_members_device ON device_group_members (device_id);

CREATE TABLE events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          TEXT NOT NULL,
  actor_type  TEXT NOT NULL,
  actor_id    TEXT,
  actor_name  TEXT,
  action      TEXT NOT NULL,
  object_type TEXT NOT NULL,
  object_id   TEXT,
  remote_addr TEXT,
  details     TEXT
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_object ON events (object_type, object_id);
`,
};
