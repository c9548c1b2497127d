import { z } from "zod";
import { RESERVED_USERNAMES } from "../../../shared/src/names.js";
import type { ListSpec } from "./list-query.js";
import { groupName } from "./device-group.js";

/** `sudo` as users, user groups and bindings carry it: admin rights, and whether they need a password. */
export const SudoSchema = z
  .object({
    enabled: z.boolean(),
    /** Meaningful only with `enabled`: sudo without a password prompt. */
    withoutPassword: z.boolean().default(false),
  })
  .strict()
  .meta({ id: "Sudo" });
export type Sudo = z.infer<typeof SudoSchema>;

/** Whether two sudo settings grant the same (null: says nothing; withoutPassword counts only when enabled). */
export function sameSudo(a: Sudo | null, b: Sudo | null): boolean {
  if (a === null || b === null) return a === b;
  return a.enabled === b.enabled && (!a.enabled || a.withoutPassword === b.withoutPassword);
}

/**
 * A Linux or macOS group name: inside shadow-utils' default rule (groupadd needs no `--badname`), no
 * leading `_` (macOS keeps those for the system), no `.`, at most 32 characters.
 */
const POSIX_GROUP_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** Below 1000 are system groups on Linux; 65534 is nogroup/nobody. */
export const MIN_GID = 1000;
export const MAX_GID = 2_147_483_647;

export const PosixGroupSchema = z
  .object({
    name: z
      .string()
      .regex(POSIX_GROUP_NAME, "must be 1–32 characters: a lower-case letter, then lower-case letters, digits, _ or -")
      // Managing the members of sudo, wheel, adm, docker… would hand out root; attributes.sudo is the way to grant it.
      .refine((name) => !RESERVED_USERNAMES.has(name), "is a system group the directory must not manage; grant admin rights with attributes.sudo"),
    /** Absent or null: each device picks a free gid when it creates the group. */
    gid: z
      .number()
      .int()
      .min(MIN_GID)
      .max(MAX_GID)
      .refine((gid) => gid !== 65534, "65534 is nogroup")
      .nullable()
      .default(null),
  })
  .strict()
  .meta({ id: "PosixGroup" });
export type PosixGroup = z.infer<typeof PosixGroupSchema>;

export const CustomAttributeSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, "1–64 letters, digits, '_', '.' or '-', starting with a letter"),
    value: z.string().max(1024),
  })
  .strict()
  .meta({ id: "CustomAttribute" });
export type CustomAttribute = z.infer<typeof CustomAttributeSchema>;

const CustomAttributesSchema = z
  .array(CustomAttributeSchema)
  .max(100)
  .superRefine((attributes, ctx) => {
    const seen = new Set<string>();
    attributes.forEach((attribute, index) => {
      const key = attribute.name.toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: "custom", path: [index, "name"], message: `"${attribute.name}" appears twice (names are compared regardless of case)` });
      seen.add(key);
    });
  });

export const UserGroupAttributesSchema = z
  .object({
    /** Members get admin rights on the devices this group binds them to (see docs/bindings.md for precedence). */
    sudo: SudoSchema,
    /** "Create a Linux group for this user group": members are in it on every device they are on. */
    posixGroup: PosixGroupSchema.nullable(),
    samba: z.object({ enabled: z.boolean() }).strict(),
  })
  .meta({ id: "UserGroupAttributes" });
export type UserGroupAttributes = z.infer<typeof UserGroupAttributesSchema>;

export const UserGroupSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    attributes: UserGroupAttributesSchema,
    customAttributes: z.array(CustomAttributeSchema),
    memberCount: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "UserGroup" });
export type UserGroup = z.infer<typeof UserGroupSchema>;

/** In a create, each attribute left out takes its default: no sudo, no Linux group, no Samba. */
const AttributesInputSchema = z
  .object({
    sudo: SudoSchema.default({ enabled: false, withoutPassword: false }),
    posixGroup: PosixGroupSchema.nullable().default(null),
    samba: z.object({ enabled: z.boolean() }).strict().default({ enabled: false }),
  })
  .strict();

export const CreateUserGroupSchema = z
  .object({
    name: groupName,
    description: z.string().max(1000).default(""),
    attributes: AttributesInputSchema.default({ sudo: { enabled: false, withoutPassword: false }, posixGroup: null, samba: { enabled: false } }),
    customAttributes: CustomAttributesSchema.default([]),
  })
  .strict()
  .meta({ id: "CreateUserGroup" });
export type CreateUserGroup = z.infer<typeof CreateUserGroupSchema>;

/** PATCH: only the fields given change; an attribute given replaces that attribute whole (posixGroup: null removes it). */
export const UpdateUserGroupSchema = z
  .object({
    name: groupName,
    description: z.string().max(1000),
    attributes: z
      .object({ sudo: SudoSchema, posixGroup: PosixGroupSchema.nullable(), samba: z.object({ enabled: z.boolean() }).strict() })
      .partial()
      .strict(),
    customAttributes: CustomAttributesSchema,
  })
  .partial()
  .strict()
  .meta({ id: "UpdateUserGroup" });
export type UpdateUserGroup = z.infer<typeof UpdateUserGroupSchema>;

export const UserGroupMembersSchema = z
  .object({ userIds: z.array(z.string().min(1).max(64)).min(1).max(10_000) })
  .strict()
  .meta({ id: "UserGroupMembers" });

export const USER_GROUP_LIST: ListSpec = {
  idColumn: "id",
  fields: {
    name: { column: "name", sortable: true, filterable: true },
    createdAt: { column: "created_at", sortable: true, filterable: true },
    posixGroupName: { column: "posix_group_name", sortable: true, filterable: true },
  },
};
