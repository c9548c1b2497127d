import { z } from "zod";
import {
  BINDING_LIST,
  BindingChangeSchema,
  BindingSchema,
  COMPILED_LIST,
  EffectiveUserSchema,
  PutBindingSchema,
  ReachedDeviceSchema,
  type ObjectType,
  type SubjectType,
} from "../../domain/binding.js";
import { parseListQuery } from "../../domain/list-query.js";
import type { Services } from "../../services/index.js";
import { ADMINS, READERS, route, type AnyRoute } from "../route.js";
import { IdParamsSchema, ListParamsSchema, pageOf } from "../schemas.js";

/** Compiled lists page but neither sort nor filter. */
const PageParamsSchema = ListParamsSchema.pick({ limit: true, skip: true });

/** The four kinds of edge, each a sub-resource of its subject: `/users/:id/devices/:deviceId` and so on. */
const EDGES: { subject: SubjectType; subjectPath: string; object: ObjectType; objectPath: string; param: "deviceId" | "groupId" }[] = [
  { subject: "user", subjectPath: "users", object: "device", objectPath: "devices", param: "deviceId" },
  { subject: "user", subjectPath: "users", object: "device-group", objectPath: "device-groups", param: "groupId" },
  { subject: "user-group", subjectPath: "user-groups", object: "device", objectPath: "devices", param: "deviceId" },
  { subject: "user-group", subjectPath: "user-groups", object: "device-group", objectPath: "device-groups", param: "groupId" },
];

function edgeRoutes(s: Services): AnyRoute[] {
  return EDGES.flatMap((e) => {
    const path = `/api/v1/${e.subjectPath}/:id/${e.objectPath}/:${e.param}`;
    const params = z.object({ id: z.string().min(1).max(128), [e.param]: z.string().min(1).max(128) });
    const edge = (p: Record<string, string>) => ({ subjectType: e.subject, subjectId: p.id!, objectType: e.object, objectId: p[e.param]! });
    return [
      route({
        method: "put",
        path,
        summary: `Bind a ${e.subject.replace("-", " ")} to a ${e.object.replace("-", " ")}, or set the binding's sudo (idempotent)`,
        tag: "bindings",
        access: ADMINS,
        params,
        body: PutBindingSchema,
        response: BindingChangeSchema,
        handle: ({ params: p, body, ctx }) => s.bindings.put(ctx, edge(p), body.sudo),
      }),
      route({
        method: "delete",
        path,
        summary: `Unbind a ${e.subject.replace("-", " ")} from a ${e.object.replace("-", " ")} (idempotent)`,
        tag: "bindings",
        access: ADMINS,
        params,
        handle: ({ params: p, ctx }) => s.bindings.remove(ctx, edge(p)),
      }),
    ];
  });
}

export function bindingRoutes(s: Services) {
  return [
    ...edgeRoutes(s),
    route({
      method: "get",
      path: "/api/v1/bindings",
      summary: "List bindings (filter by subjectType, subjectId, objectType, objectId)",
      tag: "bindings",
      access: READERS,
      query: ListParamsSchema,
      response: pageOf(BindingSchema),
      handle: ({ query }) => s.bindings.list(parseListQuery(query, BINDING_LIST)),
    }),
    route({
      method: "get",
      path: "/api/v1/devices/:id/users",
      summary: "The device's effective users: compiled attributes, and every path that binds each",
      tag: "bindings",
      access: READERS,
      params: IdParamsSchema,
      query: PageParamsSchema,
      response: pageOf(EffectiveUserSchema),
      handle: ({ params, query }) => s.bindings.usersOfDevice(params.id, parseListQuery(query, COMPILED_LIST)),
    }),
    route({
      method: "get",
      path: "/api/v1/users/:id/devices",
      summary: "The devices a user reaches, with the sudo they get on each and every path that binds them",
      tag: "bindings",
      access: READERS,
      params: IdParamsSchema,
      query: PageParamsSchema,
      response: pageOf(ReachedDeviceSchema),
      handle: ({ params, query }) => s.bindings.devicesOfUser(params.id, parseListQuery(query, COMPILED_LIST)),
    }),
  ];
}
