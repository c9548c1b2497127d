import type { Migration } from "./index.js";

export const m002Commands: Migration = {
  version: 2,
  name: "commands",
  sql: `

CREATE TABLE commands (
  id                TEXT PRIMARY KEY,
  name              TEXT NOT NULL UNIQUE COLLATE NOCASE,
  description       TEXT NOT NULL DEFAULT '',
  script            TEXT NOT NULL,
  os                TEXT NOT NULL,
  shell             TEXT NOT NULL,
  run_as            TEXT NOT NULL,
  timeout_seconds   INTEGER NOT NULL,
  queue_ttl_seconds INTEGER NOT NULL,
  env               TEXT NOT NULL DEFAULT '{}',
  parallel          INTEGER NOT NULL DEFAULT 0,
  launch            TEXT NOT NULL,
  -- Denormalised from launch so trigger names stay unique and schedules are found quickly.
  trigger_name      TEXT UNIQUE COLLATE NOCASE,
  -- The last scheduled time this command was launched for; a restart runs a missed one once.
  last_scheduled_at TEXT,
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL
);

CREATE TABLE command_targets (
  command_id  TEXT NOT NULL REFERENCES commands (id) ON DELETE CASCADE,
  target_type TEXT NOT NULL CHECK (target_type IN ('device', 'device-group')),
  target_id   TEXT NOT NULL,
  PRIMARY KEY (command_id, target_type, target_id)
);

CREATE TABLE command_runners (
  command_id TEXT NOT NULL REFERENCES commands (id) ON DELETE CASCADE,
  api_key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  PRIMARY KEY (command_id, api_key_id)
);

-- Uploaded attachments, content-addressed on disk (DATA/files/<sha256>).
CREATE TABLE files (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  size       INTEGER NOT NULL,
  sha256     TEXT NOT NULL,
  created_at TEXT NOT NULL,
  created_by TEXT
);
CREATE INDEX files_sha256 ON files (sha256);

CREATE TABLE command_files (
  command_id TEXT NOT NULL REFERENCES commands (id) ON DELETE CASCADE,
  file_id    TEXT NOT NULL REFERENCES files (id),
  path       TEXT NOT NULL,
  PRIMARY KEY (command_id, path)
);

-- One row per (run, device). The spec is a snapshot: editing the command later does not change
-- what a queued execution runs.
CREATE TABLE executions (
  id                TEXT PRIMARY KEY,
  run_id            TEXT NOT NULL,
  command_id        TEXT,
  command_name      TEXT,
  device_id         TEXT NOT NULL,
  spec              TEXT NOT NULL,
  parallel          INTEGER NOT NULL DEFAULT 0,
  status            TEXT NOT NULL,
  requested_by      TEXT,
  requested_at      TEXT NOT NULL,
  expires_at        TEXT NOT NULL,
  sent_at           TEXT,
  started_at        TEXT,
  finished_at       TEXT,
  exit_code         INTEGER,
  stdout            TEXT NOT NULL DEFAULT '',
  stderr            TEXT NOT NULL DEFAULT '',
  stdout_truncated  INTEGER NOT NULL DEFAULT 0,
  stderr_truncated  INTEGER NOT NULL DEFAULT 0,
  error             TEXT,
  cancel_requested  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX executions_device_status ON executions (device_id, status, id);
CREATE INDEX executions_command ON executions (command_id, id);
CREATE INDEX executions_run ON executions (run_id);
CREATE INDEX executions_status_expires ON executions (status, expires_at);
CREATE INDEX executions_requested ON executions (requested_at);
`,
};
