import { z } from "zod";
import { CreateDeviceGroupSchema, DEVICE_GROUP_LIST, DeviceGroupSchema, GroupMembersSchema, UpdateDeviceGroupSchema } from "../../domain/device-group.js";
import { DEVICE_LIST, DeviceSchema } from "../../domain/device.js";
import { parseListQuery } from "../../domain/list-query.js";
import type { Services } from "../../services/index.js";
import { ADMINS, READERS, route } from "../route.js";
import { IdParamsSchema, ListParamsSchema, pageOf } from "../schemas.js";

const MembershipChangeSchema = z.object({ group: DeviceGroupSchema, changed: z.number().int() }).meta({ id: "MembershipChange" });

export function deviceGroupRoutes(s: Services) {
  return [
    route({
      method: "post",
      path: "/api/v1/device-groups",
      summary: "Create a device group",
      tag: "device-groups",
      access: ADMINS,
      body: CreateDeviceGroupSchema,
      response: DeviceGroupSchema,
      status: 201,
      handle: ({ body, ctx }) => s.deviceGroups.create(ctx, body),
    }),
    route({
      method: "get",
      path: "/api/v1/device-groups",
      summary: "List device groups",
      tag: "device-groups",
      access: READERS,
      query: ListParamsSchema,
      response: pageOf(DeviceGroupSchema),
      handle: ({ query }) => s.deviceGroups.list(parseListQuery(query, DEVICE_GROUP_LIST)),
    }),
    route({
      method: "get",
      path: "/api/v1/device-groups/:id",
      summary: "Get a device group",
      tag: "device-groups",
      access: READERS,
      params: IdParamsSchema,
      response: DeviceGroupSchema,
      handle: ({ params }) => s.deviceGroups.get(params.id),
    }),
    route({
      method: "patch",
      path: "/api/v1/device-groups/:id",
      summary: "Rename a device group or change its description",
      tag: "device-groups",
      access: ADMINS,
      params: IdParamsSchema,
      body: UpdateDeviceGroupSchema,
      response: DeviceGroupSchema,
      handle: ({ params, body, ctx }) => s.deviceGroups.update(ctx, params.id, body),
    }),
    route({
      method: "delete",
      path: "/api/v1/device-groups/:id",
      summary: "Delete a device group (its devices stay)",
      tag: "device-groups",
      access: ADMINS,
      params: IdParamsSchema,
      handle: ({ params, ctx }) => s.deviceGroups.delete(ctx, params.id),
    }),
    route({
      method: "get",
      path: "/api/v1/device-groups/:id/members",
      summary: "List a group's devices",
      tag: "device-groups",
      access: READERS,
      params: IdParamsSchema,
      query: ListParamsSchema,
      response: pageOf(DeviceSchema),
      handle: ({ params, query }) => s.deviceGroups.members(params.id, parseListQuery(query, DEVICE_LIST)),
    }),
    route({
      method: "post",
      path: "/api/v1/device-groups/:id/members",
      summary: "Add devices to a group (idempotent)",
      tag: "device-groups",
      access: ADMINS,
      params: IdParamsSchema,
      body: GroupMembersSchema,
      response: MembershipChangeSchema,
      handle: ({ params, body, ctx }) => s.deviceGroups.addMembers(ctx, params.id, body.deviceIds),
    }),
    route({
      method: "post",
      path: "/api/v1/device-groups/:id/members/remove",
      summary: "Remove devices from a group (idempotent)",
      tag: "device-groups",
      access: ADMINS,
      params: IdParamsSchema,
      body: GroupMembersSchema,
      response: MembershipChangeSchema,
      handle: ({ params, body, ctx }) => s.deviceGroups.removeMembers(ctx, params.id, body.deviceIds),
    }),
    route({
      method: "delete",
      path: "/api/v1/device-groups/:id/members/:deviceId",
      summary: "Remove one device from a group (idempotent)",
      tag: "device-groups",
      access: ADMINS,
      params: z.object({ id: z.string().min(1).max(128), deviceId: z.string().min(1).max(128) }),
      response: MembershipChangeSchema,
      handle: ({ params, ctx }) => s.deviceGroups.removeMembers(ctx, params.id, [params.deviceId]),
    }),
  ];
}
