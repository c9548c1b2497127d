import { z } from "zod";
import { parseListQuery } from "../../domain/list-query.js";
import { CreateUserGroupSchema, UpdateUserGroupSchema, USER_GROUP_LIST, UserGroupMembersSchema, UserGroupSchema } from "../../domain/user-group.js";
import { USER_LIST, UserSchema } from "../../domain/user.js";
import type { Services } from "../../services/index.js";
import { ADMINS, READERS, route } from "../route.js";
import { IdParamsSchema, ListParamsSchema, pageOf } from "../schemas.js";

const UserGroupMembershipChangeSchema = z
  .object({
    group: UserGroupSchema,
    changed: z.number().int(),
    /** How many devices' desired-state revisions moved. */
    devicesAffected: z.number().int(),
  })
  .meta({ id: "UserGroupMembershipChange" });

export function userGroupRoutes(s: Services) {
  return [
    route({
      method: "post",
      path: "/api/v1/user-groups",
      summary: "Create a user group",
      tag: "user-groups",
      access: ADMINS,
      body: CreateUserGroupSchema,
      response: UserGroupSchema,
      status: 201,
      handle: ({ body, ctx }) => s.userGroups.create(ctx, body),
    }),
    route({
      method: "get",
      path: "/api/v1/user-groups",
      summary: "List user groups",
      tag: "user-groups",
      access: READERS,
      query: ListParamsSchema,
      response: pageOf(UserGroupSchema),
      handle: ({ query }) => s.userGroups.list(parseListQuery(query, USER_GROUP_LIST)),
    }),
    route({
      method: "get",
      path: "/api/v1/user-groups/:id",
      summary: "Get a user group",
      tag: "user-groups",
      access: READERS,
      params: IdParamsSchema,
      response: UserGroupSchema,
      handle: ({ params }) => s.userGroups.get(params.id),
    }),
    route({
      method: "patch",
      path: "/api/v1/user-groups/:id",
      summary: "Change a user group: only the fields given; an attribute given replaces that attribute",
      tag: "user-groups",
      access: ADMINS,
      params: IdParamsSchema,
      body: UpdateUserGroupSchema,
      response: UserGroupSchema,
      handle: ({ params, body, ctx }) => s.userGroups.update(ctx, params.id, body),
    }),
    route({
      method: "delete",
      path: "/api/v1/user-groups/:id",
      summary: "Delete a user group (its users stay; its bindings go)",
      tag: "user-groups",
      access: ADMINS,
      params: IdParamsSchema,
      handle: ({ params, ctx }) => s.userGroups.delete(ctx, params.id),
    }),
    route({
      method: "get",
      path: "/api/v1/user-groups/:id/members",
      summary: "List a group's users",
      tag: "user-groups",
      access: READERS,
      params: IdParamsSchema,
      query: ListParamsSchema,
      response: pageOf(UserSchema),
      handle: ({ params, query }) => s.userGroups.members(params.id, parseListQuery(query, USER_LIST)),
    }),
    route({
      method: "post",
      path: "/api/v1/user-groups/:id/members",
      summary: "Add users to a group (idempotent)",
      tag: "user-groups",
      access: ADMINS,
      params: IdParamsSchema,
      body: UserGroupMembersSchema,
      response: UserGroupMembershipChangeSchema,
      handle: ({ params, body, ctx }) => s.userGroups.addMembers(ctx, params.id, body.userIds),
    }),
    route({
      method: "post",
      path: "/api/v1/user-groups/:id/members/remove",
      summary: "Remove users from a group (idempotent)",
      tag: "user-groups",
      access: ADMINS,
      params: IdParamsSchema,
      body: UserGroupMembersSchema,
      response: UserGroupMembershipChangeSchema,
      handle: ({ params, body, ctx }) => s.userGroups.removeMembers(ctx, params.id, body.userIds),
    }),
    route({
      method: "delete",
      path: "/api/v1/user-groups/:id/members/:userId",
      summary: "Remove one user from a group (idempotent)",
      tag: "user-groups",
      access: ADMINS,
      params: z.object({ id: z.string().min(1).max(128), userId: z.string().min(1).max(128) }),
      response: UserGroupMembershipChangeSchema,
      handle: ({ params, ctx }) => s.userGroups.removeMembers(ctx, params.id, [params.userId]),
    }),
    route({
      method: "get",
      path: "/api/v1/users/:id/user-groups",
      summary: "List the groups a user is a member of",
      tag: "user-groups",
      access: READERS,
      params: IdParamsSchema,
      query: ListParamsSchema,
      response: pageOf(UserGroupSchema),
      handle: ({ params, query }) => s.userGroups.ofUser(params.id, parseListQuery(query, USER_GROUP_LIST)),
    }),
  ];
}
