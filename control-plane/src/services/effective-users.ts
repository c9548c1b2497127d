import type { BindingPath, CompiledSudo, EffectiveUser, Level, PathNode, ReachedDevice } from "../domain/binding.js";
import { LEVELS } from "../domain/binding.js";
import type { PosixGroup, Sudo } from "../domain/user-group.js";
import type { SshKey, UserState } from "../domain/user.js";

/**
 * Who is on a device, and with which rights, from the rows of the directory graph. Pure: the store
 * fetches the rows (store/directory-graph.ts), this module only compiles them, so precedence and paths
 * are table-tested without a database.
 *
 * Sudo precedence (docs/bindings.md):
 *  - Every path has a level: `user` (a direct user↔device binding), `group` (one group between user and
 *    device: user↔device-group or user-group↔device) or `group-to-group` (user-group↔device-group).
 *  - A path says something about sudo when its binding has `sudo` set (`enabled` true grants, false
 *    refuses); a binding without `sudo` passes on its user group's `sudo` when that is enabled. The
 *    user's own `sudo` flag, when true, is a grant at the `user` level.
 *  - The most specific level at which anything is said decides. Within that level a grant beats a
 *    refusal and the sudo is password-less when any grant there says so. So the user's own flag always
 *    grants, a direct binding overrides what groups say, and nothing said means no sudo.
 */

/** One way a user reaches a device: a binding, plus the group hops on either side of it. */
export interface PathRow extends GroupPathRow {
  deviceId: string;
}

/** A path ending at a device group; every member of the group is reached by it. */
export interface GroupPathRow {
  userId: string;
  /** The user group the user is a member of, when the binding's subject is a user group. */
  userGroupId: string | null;
  /** The device group the device is a member of, when the binding's object is a device group. */
  deviceGroupId: string | null;
  /** The binding's sudo; null when it says nothing. */
  sudo: Sudo | null;
}

export interface UserFacts {
  id: string;
  username: string;
  fullName: string;
  state: UserState;
  accountLocked: boolean;
  sudo: boolean;
  passwordlessSudo: boolean;
  sshKeys: SshKey[];
  unixUid: number;
  unixGid: number;
  shell: string;
}

export interface UserGroupFacts {
  id: string;
  name: string;
  sudo: Sudo;
}

export interface DeviceFacts {
  id: string;
  displayName: string;
  hostname: string;
  os: string;
}

/**
 * The paths that reach a set of devices, factored as the store reads them: paths to device groups are
 * read once per group, not once per member device.
 */
export interface DevicePaths {
  /** Paths of direct bindings (user↔device, user-group↔device). */
  direct: readonly PathRow[];
  /** Each device's device groups that have paths, sorted. */
  groupsOf: ReadonlyMap<string, readonly string[]>;
  groupPaths: ReadonlyMap<string, readonly GroupPathRow[]>;
}

/** The nodes the rows refer to. Rows whose user or device is missing here are ignored. */
export interface DirectoryGraph {
  users: ReadonlyMap<string, UserFacts>;
  userGroups: ReadonlyMap<string, UserGroupFacts>;
  deviceGroupNames: ReadonlyMap<string, string>;
  devices: ReadonlyMap<string, DeviceFacts>;
  /** Each user's Linux groups: every user group of theirs that has a posixGroup. */
  posixGroups: ReadonlyMap<string, readonly PosixGroup[]>;
}

/**
 * The effective users of each device that has any. Devices reached only through the same device groups
 * have the same users: those are compiled once, then only their paths are moved onto each device.
 */
export function effectiveUsersOfDevices(deviceIds: readonly string[], paths: DevicePaths, graph: DirectoryGraph): Map<string, EffectiveUser[]> {
  const direct = new Map(groupBy(paths.direct, (row) => row.deviceId));
  const viaGroups = (groups: readonly string[], deviceId: string): PathRow[] =>
    groups.flatMap((group) => (paths.groupPaths.get(group) ?? []).map((row) => ({ ...row, deviceId })));
  const shared = new Map<string, EffectiveUser[]>();
  const result = new Map<string, EffectiveUser[]>();
  for (const deviceId of new Set(deviceIds)) {
    const groups = paths.groupsOf.get(deviceId) ?? [];
    const own = direct.get(deviceId);
    if (own) {
      result.set(deviceId, effectiveUsers([...own, ...viaGroups(groups, deviceId)], graph));
    } else if (groups.length > 0) {
      const key = groups.join(" ");
      let template = shared.get(key);
      if (!template) shared.set(key, (template = effectiveUsers(viaGroups(groups, deviceId), graph)));
      result.set(deviceId, onDevice(template, deviceNode(deviceId, graph)));
    }
  }
  return result;
}

/** The same users with every path ending at another device (paths always end at the device). */
function onDevice(users: readonly EffectiveUser[], device: PathNode): EffectiveUser[] {
  return users.map((entry) => ({ ...entry, paths: entry.paths.map((path) => ({ ...path, nodes: [...path.nodes.slice(0, -1), device] })) }));
}

/** The effective users of one device from the rows that reach it, sorted by username. */
export function effectiveUsers(rows: readonly PathRow[], graph: DirectoryGraph): EffectiveUser[] {
  return groupBy(rows, (row) => row.userId)
    .flatMap(([userId, userRows]) => {
      const user = graph.users.get(userId);
      if (!user) return [];
      const paths = sortPaths(userRows.map((row) => pathOf(row, graph)));
      return [{ user: { id: user.id, username: user.username }, compiledAttributes: compile(user, paths, graph), paths }];
    })
    .sort((a, b) => compareText(a.user.username, b.user.username));
}

/** The devices one user reaches from the rows that start at them, with the sudo they get on each. */
export function reachedDevices(rows: readonly PathRow[], graph: DirectoryGraph): ReachedDevice[] {
  return groupBy(rows, (row) => row.deviceId)
    .flatMap(([deviceId, deviceRows]) => {
      const device = graph.devices.get(deviceId);
      const user = graph.users.get(deviceRows[0]!.userId);
      if (!device || !user) return [];
      const paths = sortPaths(deviceRows.map((row) => pathOf(row, graph)));
      const { id, displayName, hostname, os } = device;
      return [{ device: { id, displayName, hostname, os }, sudo: compileSudo(user, paths), paths }];
    })
    .sort((a, b) => compareText(a.device.displayName, b.device.displayName) || compareText(a.device.id, b.device.id));
}

export function compileSudo(user: Pick<UserFacts, "sudo" | "passwordlessSudo">, paths: readonly BindingPath[]): CompiledSudo {
  const statements: { level: Level; sudo: Sudo }[] = paths.flatMap((path) => (path.sudo ? [{ level: path.level, sudo: path.sudo }] : []));
  if (user.sudo) statements.push({ level: "user", sudo: { enabled: true, withoutPassword: user.passwordlessSudo } });
  for (const level of LEVELS) {
    const said = statements.filter((s) => s.level === level);
    if (said.length === 0) continue;
    const grants = said.filter((s) => s.sudo.enabled);
    return { enabled: grants.length > 0, withoutPassword: grants.some((s) => s.sudo.withoutPassword), decidedBy: level };
  }
  return { enabled: false, withoutPassword: false, decidedBy: null };
}

function compile(user: UserFacts, paths: readonly BindingPath[], graph: DirectoryGraph): EffectiveUser["compiledAttributes"] {
  return {
    sudo: compileSudo(user, paths),
    sshKeys: user.sshKeys,
    groups: [...(graph.posixGroups.get(user.id) ?? [])],
    unixUid: user.unixUid,
    unixGid: user.unixGid,
    shell: user.shell,
    fullName: user.fullName,
    state: user.state,
    accountLocked: user.accountLocked,
  };
}

export function pathOf(row: PathRow, graph: DirectoryGraph): BindingPath {
  const userGroup = row.userGroupId === null ? undefined : graph.userGroups.get(row.userGroupId);
  const nodes: PathNode[] = [{ type: "user", id: row.userId, name: graph.users.get(row.userId)?.username ?? "" }];
  if (row.userGroupId !== null) nodes.push({ type: "user-group", id: row.userGroupId, name: userGroup?.name ?? "" });
  if (row.deviceGroupId !== null) nodes.push({ type: "device-group", id: row.deviceGroupId, name: graph.deviceGroupNames.get(row.deviceGroupId) ?? "" });
  nodes.push(deviceNode(row.deviceId, graph));
  const groups = (row.userGroupId === null ? 0 : 1) + (row.deviceGroupId === null ? 0 : 1);
  return {
    level: LEVELS[groups]!,
    sudo: row.sudo ?? (userGroup?.sudo.enabled ? userGroup.sudo : null),
    nodes,
  };
}

function deviceNode(id: string, graph: DirectoryGraph): PathNode {
  return { type: "device", id, name: graph.devices.get(id)?.displayName ?? "" };
}

/** Most specific first, then by the ids along the path, so answers are stable. */
function sortPaths(paths: BindingPath[]): BindingPath[] {
  if (paths.length < 2) return paths;
  const keyed = paths.map((path) => ({ path, key: `${LEVELS.indexOf(path.level)}|${path.nodes.map((n) => n.id).join("|")}` }));
  return keyed.sort((a, b) => compareText(a.key, b.key)).map((k) => k.path);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return [...groups];
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
