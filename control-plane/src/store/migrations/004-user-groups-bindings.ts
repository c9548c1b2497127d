import type { Migration } from "./index.js";

// User groups and bindings. Bindings are one polymorphic edge table (no foreign keys can cover it), so
// triggers remove the edges of a deleted device, device group or user group. A deleted user's edges
// are removed by DeviceRevisions.usersChanged, after it has bumped the devices they reached.
export const m004UserGroupsBindings: Migration = {
  version: 4,
  name: "user-groups-bindings",
  sql: `
CREATE TABLE user_groups (
  id                    TEXT PRIMARY KEY,
  name                  TEXT NOT NULL UNIQUE COLLATE NOCASE,
  description           TEXT NOT NULL DEFAULT '',
  sudo_enabled          INTEGER NOT NULL DEFAULT 0,
  sudo_without_password INTEGER NOT NULL DEFAULT 0,
  -- Two user groups may not manage the same Linux group, by name or by number.
  posix_group_name      TEXT UNIQUE,
  posix_gid             INTEGER UNIQUE,
  samba_enabled         INTEGER NOT NULL DEFAULT 0,
  custom_attributes     TEXT NOT NULL DEFAULT '[]',
  created_at            TEXT NOT NULL,
  updated_at            TEXT NOT NULL
);

CREATE TABLE user_group_members (
  group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
  user_id  TEXT NOT NULL,
  added_at TEXT NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX user_group_members_user ON user_group_members (user_id, group_id);

-- sudo_enabled NULL: the edge says nothing about sudo (see services/effective-users.ts).
CREATE TABLE bindings (
  subject_type          TEXT NOT NULL CHECK (subject_type IN ('user', 'user-group')),
  subject_id            TEXT NOT NULL,
  object_type           TEXT NOT NULL CHECK (object_type IN ('device', 'device-group')),
  object_id             TEXT NOT NULL,
  sudo_enabled          INTEGER,
  sudo_without_password INTEGER NOT NULL DEFAULT 0,
  created_at            TEXT NOT NULL,
  PRIMARY KEY (subject_type, subject_id, object_type, object_id)
);
CREATE INDEX bindings_object ON bindings (object_type, object_id, subject_type, subject_id);

CREATE TRIGGER devices_unbind AFTER DELETE ON devices BEGIN
  DELETE FROM bindings WHERE object_type = 'device' AND object_id = old.id;
END;
CREATE TRIGGER device_groups_unbind AFTER DELETE ON device_groups BEGIN
  DELETE FROM bindings WHERE object_type = 'device-group' AND object_id = old.id;
END;
CREATE TRIGGER user_groups_unbind AFTER DELETE ON user_groups BEGIN
  DELETE FROM bindings WHERE subject_type = 'user-group' AND subject_id = old.id;
END;
`,
};
