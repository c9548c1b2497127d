import { z } from "zod";
import type { ListSpec } from "./list-query.js";
import { PosixGroupSchema, SudoSchema } from "./user-group.js";
import { SshKeySchema, USER_STATES } from "./user.js";

/**
 * Bindings: which users reach which devices. An edge goes from a user or a user group to a device or a
 * device group and may say something about sudo on the devices it reaches. The effective users of a
 * device and the precedence of sudo are in services/effective-users.ts and docs/bindings.md.
 */
export const SUBJECT_TYPES = ["user", "user-group"] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];
export const OBJECT_TYPES = ["device", "device-group"] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

export const BindingSchema = z
  .object({
    subject: z.object({ type: z.enum(SUBJECT_TYPES), id: z.string() }),
    object: z.object({ type: z.enum(OBJECT_TYPES), id: z.string() }),
    /** null: the edge says nothing about sudo (less specific edges and the user's own flag decide). */
    sudo: SudoSchema.nullable(),
    createdAt: z.string(),
  })
  .meta({ id: "Binding" });
export type Binding = z.infer<typeof BindingSchema>;

export const BindingChangeSchema = z
  .object({
    binding: BindingSchema,
    /** How many devices' desired-state revisions moved; 0 when the PUT repeated what was there. */
    devicesAffected: z.number().int(),
  })
  .meta({ id: "BindingChange" });
export type BindingChange = z.infer<typeof BindingChangeSchema>;

/**
 * PUT body of a binding (`{}` at least). `sudo` absent or null: the edge says nothing about sudo;
 * `{enabled: false}` refuses sudo at this edge's level of precedence. A PUT on an existing edge
 * replaces its sudo.
 */
export const PutBindingSchema = z
  .object({ sudo: SudoSchema.nullable().default(null) })
  .strict()
  .meta({ id: "PutBinding" });

export const BINDING_LIST: ListSpec = {
  idColumn: "rowid",
  fields: {
    subjectType: { column: "subject_type", filterable: true, sortable: true, values: SUBJECT_TYPES },
    subjectId: { column: "subject_id", filterable: true },
    objectType: { column: "object_type", filterable: true, sortable: true, values: OBJECT_TYPES },
    objectId: { column: "object_id", filterable: true },
    createdAt: { column: "created_at", filterable: true, sortable: true },
  },
};

/** Effective users and reached devices are compiled, not stored: they page, but do not sort or filter. */
export const COMPILED_LIST: ListSpec = { idColumn: "id", fields: {} };

// ---- Effective users: the answer of traversing the graph ----

export const NODE_TYPES = ["user", "user-group", "device-group", "device"] as const;

export const PathNodeSchema = z
  .object({ type: z.enum(NODE_TYPES), id: z.string(), name: z.string() })
  .meta({ id: "PathNode" });
export type PathNode = z.infer<typeof PathNodeSchema>;

/**
 * How specific an edge is, most specific first: the user's own flag or a direct user↔device binding;
 * one group between them (user↔device-group or user-group↔device); a group-to-group binding.
 */
export const LEVELS = ["user", "group", "group-to-group"] as const;
export type Level = (typeof LEVELS)[number];

export const BindingPathSchema = z
  .object({
    level: z.enum(LEVELS),
    /** What this path says about sudo: its binding's sudo, else its user group's sudo when enabled, else null. */
    sudo: SudoSchema.nullable(),
    /** From the user to the device: user, [user-group], [device-group], device. */
    nodes: z.array(PathNodeSchema),
  })
  .meta({ id: "BindingPath" });
export type BindingPath = z.infer<typeof BindingPathSchema>;

export const CompiledSudoSchema = z
  .object({
    enabled: z.boolean(),
    withoutPassword: z.boolean(),
    /** The level whose statements decided; null when nothing said anything (no sudo). */
    decidedBy: z.enum(LEVELS).nullable(),
  })
  .meta({ id: "CompiledSudo" });
export type CompiledSudo = z.infer<typeof CompiledSudoSchema>;

export const CompiledAttributesSchema = z
  .object({
    sudo: CompiledSudoSchema,
    sshKeys: z.array(SshKeySchema),
    /** Linux groups: every user group of the user with a posixGroup, wherever it is bound (docs/bindings.md). */
    groups: z.array(PosixGroupSchema),
    unixUid: z.number().int(),
    unixGid: z.number().int(),
    shell: z.string(),
    /** The account's full name (GECOS): the display name, else first and last name. */
    fullName: z.string(),
    /** `suspended` users stay listed so the agent locks their accounts; `staged` ones are not created yet. */
    state: z.enum(USER_STATES),
    /** Locked after failed logins: the device locks the account too. */
    accountLocked: z.boolean(),
  })
  .meta({ id: "CompiledAttributes" });
export type CompiledAttributes = z.infer<typeof CompiledAttributesSchema>;

export const EffectiveUserSchema = z
  .object({
    user: z.object({ id: z.string(), username: z.string() }),
    compiledAttributes: CompiledAttributesSchema,
    paths: z.array(BindingPathSchema),
  })
  .meta({ id: "EffectiveUser" });
export type EffectiveUser = z.infer<typeof EffectiveUserSchema>;

export const ReachedDeviceSchema = z
  .object({
    device: z.object({ id: z.string(), displayName: z.string(), hostname: z.string(), os: z.string() }),
    sudo: CompiledSudoSchema,
    paths: z.array(BindingPathSchema),
  })
  .meta({ id: "ReachedDevice" });
export type ReachedDevice = z.infer<typeof ReachedDeviceSchema>;
