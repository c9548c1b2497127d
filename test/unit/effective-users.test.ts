import { describe, expect, it } from "vitest";
import type { BindingPath, CompiledSudo } from "../../control-plane/src/domain/binding.js";
import type { Sudo } from "../../control-plane/src/domain/user-group.js";
import {
  compileSudo,
  effectiveUsers,
  effectiveUsersOfDevices,
  reachedDevices,
  type DirectoryGraph,
  type PathRow,
  type UserFacts,
  type UserGroupFacts,
} from "../../control-plane/src/services/effective-users.js";

/** Table tests of the pure compilation: precedence of sudo, paths, duplicates, state. */

const GRANT: Sudo = { enabled: true, withoutPassword: false };
const GRANT_NOPASSWD: Sudo = { enabled: true, withoutPassword: true };
const REFUSE: Sudo = { enabled: false, withoutPassword: false };

function user(id: string, fields: Partial<UserFacts> = {}): UserFacts {
  return {
    ...{ id, username: id, fullName: "", state: "activated", accountLocked: false, sudo: false, passwordlessSudo: false },
    ...{ sshKeys: [], unixUid: 5000, unixGid: 5000, shell: "/bin/bash", ...fields },
  };
}

function group(id: string, sudo: Sudo = REFUSE): UserGroupFacts {
  return { id, name: `${id}-name`, sudo };
}

function graphOf(users: UserFacts[], groups: UserGroupFacts[] = [], posix: Record<string, { name: string; gid: number | null }[]> = {}): DirectoryGraph {
  return {
    users: new Map(users.map((u) => [u.id, u])),
    userGroups: new Map(groups.map((g) => [g.id, g])),
    deviceGroupNames: new Map([
      ["dg1", "servers"],
      ["dg2", "laptops"],
    ]),
    devices: new Map([
      ["d1", { id: "d1", displayName: "web-1", hostname: "web-1.local", os: "linux" }],
      ["d2", { id: "d2", displayName: "db-1", hostname: "db-1.local", os: "linux" }],
    ]),
    posixGroups: new Map(Object.entries(posix)),
  };
}

/** Builds a path row: `via` names the user group and/or device group on the path. */
function row(userId: string, sudo: Sudo | null, via: { ug?: string; dg?: string } = {}, deviceId = "d1"): PathRow {
  return { userId, deviceId, userGroupId: via.ug ?? null, deviceGroupId: via.dg ?? null, sudo };
}

function path(level: BindingPath["level"], sudo: Sudo | null): BindingPath {
  return { level, sudo, nodes: [] };
}

describe("compileSudo: the most specific level that says anything decides; the user's own flag always grants", () => {
  const cases: [string, { sudo?: boolean; passwordlessSudo?: boolean }, BindingPath[], CompiledSudo][] = [
    ["nothing said: no sudo", {}, [path("user", null), path("group", null)], { enabled: false, withoutPassword: false, decidedBy: null }],
    ["the global flag alone grants", { sudo: true }, [path("group-to-group", null)], { enabled: true, withoutPassword: false, decidedBy: "user" }],
    ["the global flag's passwordless sudo", { sudo: true, passwordlessSudo: true }, [], { enabled: true, withoutPassword: true, decidedBy: "user" }],
    ["passwordlessSudo without sudo says nothing", { passwordlessSudo: true }, [], { enabled: false, withoutPassword: false, decidedBy: null }],
    ["the global flag beats a direct refusal", { sudo: true }, [path("user", REFUSE)], { enabled: true, withoutPassword: false, decidedBy: "user" }],
    ["the global flag beats refusals at every level", { sudo: true }, [path("group", REFUSE), path("group-to-group", REFUSE)], { enabled: true, withoutPassword: false, decidedBy: "user" }],
    ["a direct grant", {}, [path("user", GRANT)], { enabled: true, withoutPassword: false, decidedBy: "user" }],
    ["a direct refusal beats a group grant", {}, [path("user", REFUSE), path("group", GRANT_NOPASSWD)], { enabled: false, withoutPassword: false, decidedBy: "user" }],
    ["a direct grant with a password beats a passwordless group grant", {}, [path("user", GRANT), path("group", GRANT_NOPASSWD)], { enabled: true, withoutPassword: false, decidedBy: "user" }],
    ["a direct binding that says nothing leaves it to groups", {}, [path("user", null), path("group", GRANT_NOPASSWD)], { enabled: true, withoutPassword: true, decidedBy: "group" }],
    ["a group refusal beats a group-to-group grant", {}, [path("group", REFUSE), path("group-to-group", GRANT)], { enabled: false, withoutPassword: false, decidedBy: "group" }],
    ["a group grant beats a group-to-group refusal", {}, [path("group", GRANT), path("group-to-group", REFUSE)], { enabled: true, withoutPassword: false, decidedBy: "group" }],
    ["group-to-group alone", {}, [path("group-to-group", GRANT_NOPASSWD)], { enabled: true, withoutPassword: true, decidedBy: "group-to-group" }],
    ["within a level a grant beats a refusal", {}, [path("group", REFUSE), path("group", GRANT)], { enabled: true, withoutPassword: false, decidedBy: "group" }],
    ["within a level any passwordless grant makes it passwordless", {}, [path("group", GRANT), path("group", GRANT_NOPASSWD)], { enabled: true, withoutPassword: true, decidedBy: "group" }],
    ["global flag and direct binding share the user level", { sudo: true }, [path("user", GRANT_NOPASSWD)], { enabled: true, withoutPassword: true, decidedBy: "user" }],
    ["refusals only: no sudo, decided", {}, [path("group-to-group", REFUSE)], { enabled: false, withoutPassword: false, decidedBy: "group-to-group" }],
  ];
  it.each(cases)("%s", (_name, flags, paths, expected) => {
    expect(compileSudo({ sudo: flags.sudo ?? false, passwordlessSudo: flags.passwordlessSudo ?? false }, paths)).toEqual(expected);
  });
});

describe("effectiveUsers: paths", () => {
  it("gives a direct binding as user → device at the user level", () => {
    const [alice] = effectiveUsers([row("alice", GRANT)], graphOf([user("alice")]));
    expect(alice!.paths).toEqual([
      {
        level: "user",
        sudo: GRANT,
        nodes: [
          { type: "user", id: "alice", name: "alice" },
          { type: "device", id: "d1", name: "web-1" },
        ],
      },
    ]);
  });

  it("gives one-group paths both ways: user → device group → device, user → user group → device", () => {
    const rows = [row("alice", null, { dg: "dg1" }), row("alice", null, { ug: "ops" })];
    const [alice] = effectiveUsers(rows, graphOf([user("alice")], [group("ops")]));
    expect(alice!.paths.map((p) => [p.level, p.nodes.map((n) => `${n.type}:${n.name}`)])).toEqual([
      ["group", ["user:alice", "device-group:servers", "device:web-1"]],
      ["group", ["user:alice", "user-group:ops-name", "device:web-1"]],
    ]);
  });

  it("gives a group-to-group path as user → user group → device group → device", () => {
    const [alice] = effectiveUsers([row("alice", GRANT, { ug: "ops", dg: "dg1" })], graphOf([user("alice")], [group("ops")]));
    expect(alice!.paths).toEqual([
      {
        level: "group-to-group",
        sudo: GRANT,
        nodes: [
          { type: "user", id: "alice", name: "alice" },
          { type: "user-group", id: "ops", name: "ops-name" },
          { type: "device-group", id: "dg1", name: "servers" },
          { type: "device", id: "d1", name: "web-1" },
        ],
      },
    ]);
    expect(alice!.compiledAttributes.sudo).toEqual({ enabled: true, withoutPassword: false, decidedBy: "group-to-group" });
  });

  it("lists a user reached many ways once, with every path, most specific first", () => {
    const rows = [
      row("alice", null, { ug: "ops", dg: "dg1" }),
      row("alice", null, { ug: "devs", dg: "dg1" }),
      row("alice", REFUSE),
      row("alice", null, { ug: "ops" }),
      row("bob", null, { ug: "ops" }),
    ];
    const users = effectiveUsers(rows, graphOf([user("alice"), user("bob")], [group("ops", GRANT), group("devs")]));
    expect(users.map((u) => u.user.username)).toEqual(["alice", "bob"]);
    const alice = users[0]!;
    expect(alice.paths.map((p) => `${p.level} ${p.nodes.map((n) => n.id).join(">")}`)).toEqual([
      "user alice>d1",
      "group alice>ops>d1",
      "group-to-group alice>devs>dg1>d1",
      "group-to-group alice>ops>dg1>d1",
    ]);
    // The direct refusal outranks ops' sudo.
    expect(alice.compiledAttributes.sudo).toEqual({ enabled: false, withoutPassword: false, decidedBy: "user" });
    expect(users[1]!.compiledAttributes.sudo).toEqual({ enabled: true, withoutPassword: false, decidedBy: "group" });
  });

  it("takes a path's sudo from its binding, else from its user group's enabled sudo", () => {
    const g = graphOf([user("alice")], [group("admins", GRANT_NOPASSWD), group("plain")]);
    const sudoOf = (r: PathRow) => effectiveUsers([r], g)[0]!.paths[0]!.sudo;
    expect(sudoOf(row("alice", null, { ug: "admins" }))).toEqual(GRANT_NOPASSWD);
    expect(sudoOf(row("alice", REFUSE, { ug: "admins" }))).toEqual(REFUSE);
    expect(sudoOf(row("alice", GRANT, { ug: "admins", dg: "dg1" }))).toEqual(GRANT);
    // A group without sudo says nothing (it is not a refusal).
    expect(sudoOf(row("alice", null, { ug: "plain" }))).toBeNull();
  });
});

describe("effectiveUsers: compiled attributes", () => {
  it("carries the user's keys, ids, shell, name, lock and Linux groups", () => {
    const key = { name: "laptop", publicKey: "ssh-ed25519 AAAA alice@laptop", fingerprint: "SHA256:x" };
    const alice = user("alice", { sshKeys: [key], unixUid: 5001, unixGid: 6001, shell: "/bin/zsh", fullName: "Alice Liddell", accountLocked: true });
    const [compiled] = effectiveUsers([row("alice", null)], graphOf([alice], [], { alice: [{ name: "devs", gid: 6000 }] }));
    expect(compiled!.compiledAttributes).toEqual({
      sudo: { enabled: false, withoutPassword: false, decidedBy: null },
      sshKeys: [key],
      groups: [{ name: "devs", gid: 6000 }],
      unixUid: 5001,
      unixGid: 6001,
      shell: "/bin/zsh",
      fullName: "Alice Liddell",
      state: "activated",
      accountLocked: true,
    });
  });

  it("keeps suspended users, with their state, so the agent locks them", () => {
    const users = effectiveUsers([row("alice", GRANT), row("bob", null)], graphOf([user("alice", { state: "suspended" }), user("bob")]));
    expect(users.map((u) => [u.user.username, u.compiledAttributes.state])).toEqual([
      ["alice", "suspended"],
      ["bob", "activated"],
    ]);
  });

  it("ignores rows whose user is unknown (deleted in the meantime)", () => {
    expect(effectiveUsers([row("ghost", GRANT)], graphOf([]))).toEqual([]);
  });
});

describe("reachedDevices", () => {
  it("groups a user's rows by device, with the sudo compiled per device", () => {
    const rows = [row("alice", null, { ug: "ops", dg: "dg1" }, "d1"), row("alice", null, { ug: "ops", dg: "dg1" }, "d2"), row("alice", REFUSE, {}, "d2")];
    const devices = reachedDevices(rows, graphOf([user("alice")], [group("ops", GRANT)]));
    expect(devices.map((d) => [d.device.displayName, d.sudo.enabled, d.sudo.decidedBy, d.paths.length])).toEqual([
      ["db-1", false, "user", 2],
      ["web-1", true, "group-to-group", 1],
    ]);
    expect(devices[1]!.device).toEqual({ id: "d1", displayName: "web-1", hostname: "web-1.local", os: "linux" });
  });
});

describe("effectiveUsersOfDevices", () => {
  it("gives devices in the same groups the same users, with paths ending at each device; direct bindings stay per device", () => {
    const g = graphOf([user("alice"), user("bob")], [group("ops", GRANT)]);
    const paths = {
      direct: [row("bob", REFUSE, {}, "d2")],
      groupsOf: new Map([
        ["d1", ["dg1"]],
        ["d2", ["dg1"]],
        ["d3", ["dg1"]],
      ]),
      groupPaths: new Map([["dg1", [{ userId: "alice", userGroupId: "ops", deviceGroupId: "dg1", sudo: null }]]]),
    };
    const byDevice = effectiveUsersOfDevices(["d1", "d2", "d3", "d4"], paths, g);
    expect([...byDevice.keys()]).toEqual(["d1", "d2", "d3"]);
    const d1 = byDevice.get("d1")!;
    const d3 = byDevice.get("d3")!;
    expect(d3).toEqual(d1.map((u) => ({ ...u, paths: u.paths.map((p) => ({ ...p, nodes: [...p.nodes.slice(0, -1), { type: "device", id: "d3", name: "" }] })) })));
    expect(d1[0]!.paths[0]!.nodes.map((n) => n.id)).toEqual(["alice", "ops", "dg1", "d1"]);
    expect(byDevice.get("d2")!.map((u) => [u.user.username, u.compiledAttributes.sudo.enabled, u.paths.map((p) => p.nodes.at(-1)!.id)])).toEqual([
      ["alice", true, ["d2"]],
      ["bob", false, ["d2"]],
    ]);
    // The same answer as compiling each device on its own.
    expect(d1).toEqual(effectiveUsers([row("alice", null, { ug: "ops", dg: "dg1" }, "d1")], g));
  });
});
