import { DEVICE_LIST, DeviceSchema, DeviceWithInventorySchema, UpdateDeviceSchema } from "../../domain/device.js";
import { parseListQuery } from "../../domain/list-query.js";
import type { Services } from "../../services/index.js";
import { ADMINS, READERS, route } from "../route.js";
import { IdParamsSchema, ListParamsSchema, pageOf } from "../schemas.js";

export function deviceRoutes(s: Services) {
  return [
    route({
      method: "get",
      path: "/api/v1/devices",
      summary: "List devices (filter by hostname, os, status, …)",
      tag: "devices",
      access: READERS,
      query: ListParamsSchema,
      response: pageOf(DeviceSchema),
      handle: ({ query }) => s.devices.list(parseListQuery(query, DEVICE_LIST)),
    }),
    route({
      method: "get",
      path: "/api/v1/devices/:id",
      summary: "Get a device with its latest inventory and groups",
      tag: "devices",
      access: READERS,
      params: IdParamsSchema,
      response: DeviceWithInventorySchema,
      handle: ({ params }) => s.devices.get(params.id),
    }),
    route({
      method: "patch",
      path: "/api/v1/devices/:id",
      summary: "Change a device's display name",
      tag: "devices",
      access: ADMINS,
      params: IdParamsSchema,
      body: UpdateDeviceSchema,
      response: DeviceWithInventorySchema,
      handle: ({ params, body, ctx }) => s.devices.update(ctx, params.id, body),
    }),
    route({
      method: "delete",
      path: "/api/v1/devices/:id",
      summary: "Delete a device: its certificate is revoked and its agent stops and wipes its identity",
      tag: "devices",
      access: ADMINS,
      params: IdParamsSchema,
      handle: ({ params, ctx }) => s.devices.delete(ctx, params.id),
    }),
  ];
}
