import type { Response } from "express";
import { parseListQuery } from "../../domain/list-query.js";
import { ActivationLinkSchema, CreateUserSchema, UpdateUserSchema, USER_LIST, UserSchema, type User } from "../../domain/user.js";
import type { Services } from "../../services/index.js";
import { ifMatchVersions, setEtag } from "../etag.js";
import { ADMINS, READERS, route } from "../route.js";
import { IdParamsSchema, ListParamsSchema, pageOf } from "../schemas.js";

/** Every reply that carries one user carries its version as the ETag, for a later If-Match. */
function withEtag(res: Response, user: User): User {
  setEtag(res, user.version);
  return user;
}

type Action = "suspend" | "activate" | "unlock" | "expirePassword" | "resetMfa";

const ACTIONS: { path: string; summary: string; action: Action }[] = [
  { path: "suspend", summary: "Suspend a user: devices and the portal lock them out", action: "suspend" },
  { path: "activate", summary: "Activate a user (after suspension, or a staged user without a password)", action: "activate" },
  { path: "unlock", summary: "Unlock a user's account after too many failed sign-ins", action: "unlock" },
  { path: "expire-password", summary: "Expire a user's password: they must choose a new one at the next sign-in", action: "expirePassword" },
  { path: "reset-mfa", summary: "Reset a user's MFA: enrollment starts again, with a new enrollment window", action: "resetMfa" },
];

export function userRoutes(s: Services) {
  return [
    route({
      method: "post",
      path: "/api/v1/users",
      summary: "Create a user (activated when a password is given, staged otherwise)",
      tag: "users",
      access: ADMINS,
      body: CreateUserSchema,
      response: UserSchema,
      status: 201,
      handle: async ({ body, ctx, res }) => withEtag(res, await s.users.create(ctx, body)),
    }),
    route({
      method: "get",
      path: "/api/v1/users",
      summary: "List users",
      tag: "users",
      access: READERS,
      query: ListParamsSchema,
      response: pageOf(UserSchema),
      handle: ({ query }) => s.users.list(parseListQuery(query, USER_LIST)),
    }),
    route({
      method: "get",
      path: "/api/v1/users/:id",
      summary: "Get a user (by id or username); the ETag header carries its version",
      tag: "users",
      access: READERS,
      params: IdParamsSchema,
      response: UserSchema,
      handle: ({ params, res }) => withEtag(res, s.users.get(params.id)),
    }),
    route({
      method: "patch",
      path: "/api/v1/users/:id",
      summary: "Change some of a user's fields (only those given); If-Match makes it conditional (412 when stale)",
      tag: "users",
      access: ADMINS,
      params: IdParamsSchema,
      body: UpdateUserSchema,
      response: UserSchema,
      handle: async ({ params, body, ctx, req, res }) => withEtag(res, await s.users.update(ctx, params.id, body, ifMatchVersions(req))),
    }),
    route({
      method: "delete",
      path: "/api/v1/users/:id",
      summary: "Delete a user (devices remove the account); If-Match makes it conditional",
      tag: "users",
      access: ADMINS,
      params: IdParamsSchema,
      handle: ({ params, ctx, req }) => s.users.delete(ctx, params.id, ifMatchVersions(req)),
    }),
    ...ACTIONS.map(({ path, summary, action }) =>
      route({
        method: "post",
        path: `/api/v1/users/:id/${path}`,
        summary,
        tag: "users",
        access: ADMINS,
        params: IdParamsSchema,
        response: UserSchema,
        handle: ({ params, ctx, res }) => withEtag(res, s.users[action](ctx, params.id)),
      }),
    ),
    route({
      method: "post",
      path: "/api/v1/users/:id/activation",
      summary: "Create a one-time activation link for a user without a password (mailed when SMTP is configured); earlier links stop working",
      tag: "users",
      access: ADMINS,
      params: IdParamsSchema,
      response: ActivationLinkSchema,
      status: 201,
      handle: ({ params, ctx }) => s.users.issueActivation(ctx, params.id),
    }),
  ];
}
