import type { Migration } from "./index.js";

// Directory users. Lists of small records (SSH keys, attributes, phone numbers, addresses) are JSON
// text: they are always read and written whole with their user. Booleans are 0/1.
export const m003Users: Migration = {
  version: 3,
  name: "users",
  sql: `
CREATE TABLE users (
  id                      TEXT PRIMARY KEY,
  username                TEXT NOT NULL UNIQUE COLLATE NOCASE,
  email                   TEXT NOT NULL UNIQUE COLLATE NOCASE,
  firstname               TEXT NOT NULL DEFAULT '',
  lastname                TEXT NOT NULL DEFAULT '',
  middlename              TEXT NOT NULL DEFAULT '',
  displayname             TEXT NOT NULL DEFAULT '',
  state                   TEXT NOT NULL CHECK (state IN ('staged', 'activated', 'suspended')),
  account_locked          INTEGER NOT NULL DEFAULT 0,
  sudo                    INTEGER NOT NULL DEFAULT 0,
  passwordless_sudo       INTEGER NOT NULL DEFAULT 0,
  ssh_keys                TEXT NOT NULL DEFAULT '[]',
  unix_uid                INTEGER NOT NULL UNIQUE,
  unix_gid                INTEGER NOT NULL,
  shell                   TEXT NOT NULL,
  password_never_expires  INTEGER NOT NULL DEFAULT 0,
  password_expires_at     TEXT,
  attributes              TEXT NOT NULL DEFAULT '[]',
  job_title               TEXT NOT NULL DEFAULT '',
  department              TEXT NOT NULL DEFAULT '',
  company                 TEXT NOT NULL DEFAULT '',
  cost_center             TEXT NOT NULL DEFAULT '',
  employee_type           TEXT NOT NULL DEFAULT '',
  employee_identifier     TEXT COLLATE NOCASE,
  manager                 TEXT REFERENCES users (id) ON DELETE SET NULL,
  location                TEXT NOT NULL DEFAULT '',
  alternate_email         TEXT,
  phone_numbers           TEXT NOT NULL DEFAULT '[]',
  addresses               TEXT NOT NULL DEFAULT '[]',
  description             TEXT NOT NULL DEFAULT '',
  -- scrypt, for the user portal; never returned by the API.
  password_hash           TEXT,
  -- SHA-512-crypt ($6$), for local accounts on Linux devices; never returned by the API.
  password_crypt          TEXT,
  password_set_at         TEXT,
  mfa_required            INTEGER NOT NULL DEFAULT 0,
  mfa_enrollment_days     INTEGER NOT NULL DEFAULT 7,
  mfa_enrollment_deadline TEXT,
  mfa_status              TEXT NOT NULL DEFAULT 'not_enrolled'
                          CHECK (mfa_status IN ('not_enrolled', 'pending', 'enrolled', 'enrollment_expired')),
  -- Bumped by every change: the ETag of PATCH's optimistic concurrency.
  version                 INTEGER NOT NULL DEFAULT 1,
  created_at              TEXT NOT NULL,
  updated_at              TEXT NOT NULL
);
CREATE UNIQUE INDEX users_employee_identifier ON users (employee_identifier) WHERE employee_identifier IS NOT NULL;
CREATE INDEX users_state ON users (state);
CREATE INDEX users_manager ON users (manager) WHERE manager IS NOT NULL;

-- Only a hash of each token is kept; the token itself is in the link the user was given.
CREATE TABLE activation_tokens (
  token_hash TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at    TEXT
);
CREATE INDEX activation_tokens_user ON activation_tokens (user_id);
`,
};
