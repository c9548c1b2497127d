/**
 * Effective users and desired-state revisions at scale (section `directory-bindings`):
 *  - one device with 1,000 users through 50 user groups (half bound to the device, half to a device
 *    group it is in; each group with a Linux group): time to compute its effective users, median of many;
 *  - 10,000 devices in one device group bound to a user group of 50: time for one group change to find
 *    the affected devices and bump their revisions (one transaction, audited), and time to compute the
 *    effective users of all 10,000, in one batch and one device at a time.
 */
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { systemContext } from "../../control-plane/src/domain/actor.js";
import { BindingService } from "../../control-plane/src/services/bindings.js";
import { DeviceGroupService } from "../../control-plane/src/services/device-groups.js";
import { DeviceRevisions } from "../../control-plane/src/services/device-revisions.js";
import { UserGroupService } from "../../control-plane/src/services/user-groups.js";
import { openDatabase, type Db } from "../../control-plane/src/store/db.js";
import { createStores } from "../../control-plane/src/store/index.js";
import type { DirectorySection } from "./directory.js";

const SSH_KEY = {
  name: "laptop",
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl bench@laptop",
  fingerprint: "SHA256:bench",
};

export const bindingsSection: DirectorySection = {
  name: "directory-bindings",
  run(dir) {
    const db = openDatabase(join(dir, "tether.db"));
    try {
      const stores = createStores(db);
      const revisions = new DeviceRevisions(stores);
      const services = {
        bindings: new BindingService(stores, revisions),
        userGroups: new UserGroupService(stores, revisions),
        deviceGroups: new DeviceGroupService(stores, revisions),
      };
      const seeded = seed(db);
      const ctx = () => systemContext();

      // One device, 1,000 users through 50 groups.
      const single = sample(200, () => services.bindings.effectiveUsersOf([seeded.bigDevice]));
      const singleUsers = services.bindings.effectiveUsersOf([seeded.bigDevice]).get(seeded.bigDevice)!;
      const sqlOnly = sample(200, () => stores.directoryGraph.pathsToDevices([seeded.bigDevice]));

      // One change reaching 10,000 devices: each run toggles, so each run changes something.
      let enabled = false;
      const sudoChange = sample(20, () => {
        enabled = !enabled;
        return services.userGroups.update(ctx(), seeded.fleetGroup, { attributes: { sudo: { enabled, withoutPassword: false } } });
      });
      let member = false;
      const membership = sample(20, () => {
        member = !member;
        return member
          ? services.userGroups.addMembers(ctx(), seeded.fleetGroup, [seeded.spareUser])
          : services.userGroups.removeMembers(ctx(), seeded.fleetGroup, [seeded.spareUser]);
      });
      let idleSudo = false;
      const idle = sample(20, () => {
        idleSudo = !idleSudo;
        return services.userGroups.update(ctx(), seeded.idleGroup, { attributes: { sudo: { enabled: idleSudo, withoutPassword: false } } });
      });
      // 21 + 21 changes (warm-up included) reached every fleet device, and nothing else.
      const revisionsSeen = db.prepare("SELECT desired_revision AS revision, COUNT(*) AS n FROM devices GROUP BY desired_revision ORDER BY 1").all();
      if (JSON.stringify(revisionsSeen) !== JSON.stringify([{ revision: 0, n: 1 }, { revision: 42, n: seeded.fleet.length }])) {
        throw new Error(`unexpected revisions after the changes: ${JSON.stringify(revisionsSeen)}`);
      }

      const batch = sample(5, () => services.bindings.effectiveUsersOf(seeded.fleet));
      const batchUsers = [...services.bindings.effectiveUsersOf(seeded.fleet).values()].reduce((n, users) => n + users.length, 0);
      const oneByOne = sample(1, () => {
        for (const id of seeded.fleet) services.bindings.effectiveUsersOf([id]);
      });

      if (singleUsers.length !== 1000) throw new Error(`expected 1,000 users on the device, got ${singleUsers.length}`);

      const load = loadavg()[0]!.toFixed(1);
      return [
        `Effective users and desired-state revisions, in-process on a SQLite file (WAL), through the services the REST routes call (1-minute load average at the end: ${load}).`,
        "",
        "| what | figure |",
        "|---|---:|",
        `| effective users of one device with 1,000 users via 50 user groups (25 bound to the device, 25 to its device group; Linux groups on all), median of 200 | **${ms(single.median)}** (p95 ${ms(single.p95)}) |`,
        `| … of which the SQL for its 1,000 paths, median of 200 | ${ms(sqlOnly.median)} |`,
        `| one user-group change (sudo) reaching 10,000 devices: find them, bump their revisions, audit — one transaction, median of 20 | **${ms(sudoChange.median)}** (p95 ${ms(sudoChange.p95)}) |`,
        `| one user added to / removed from that group (10,000 devices bumped), median of 20 | ${ms(membership.median)} |`,
        `| a sudo change on an empty user group bound to the same 10,000 devices (none bumped), median of 20 | ${ms(idle.median)} |`,
        `| effective users of all 10,000 devices (${batchUsers.toLocaleString("en")} user entries), one batched call, median of 5 | **${ms(batch.median)}** |`,
        `| the same, one call per device (as 10,000 agents fetching their desired state would) | ${ms(oneByOne.median)} (${ms(oneByOne.median / seeded.fleet.length)} per device) |`,
      ].join("\n");
    } finally {
      db.close();
    }
  },
};

interface Seeded {
  bigDevice: string;
  fleet: string[];
  fleetGroup: string;
  idleGroup: string;
  spareUser: string;
}

/** Writes the graph with plain SQL in one transaction: seeding is not what is measured. */
function seed(db: Db): Seeded {
  const at = new Date().toISOString();
  const insertUser = db.prepare(
    `INSERT INTO users (id, username, email, state, ssh_keys, unix_uid, unix_gid, shell, created_at, updated_at)
     VALUES (?, ?, ?, 'activated', ?, ?, ?, '/bin/bash', ?, ?)`,
  );
  const insertDevice = db.prepare(
    "INSERT INTO devices (id, display_name, hostname, os, enrolled_at, cert_serial, cert_not_after) VALUES (?, ?, ?, 'linux', ?, ?, '2099-01-01T00:00:00Z')",
  );
  const insertUserGroup = db.prepare(
    "INSERT INTO user_groups (id, name, sudo_enabled, posix_group_name, posix_gid, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
  );
  const insertDeviceGroup = db.prepare("INSERT INTO device_groups (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)");
  const addUser = db.prepare("INSERT INTO user_group_members (group_id, user_id, added_at) VALUES (?, ?, ?)");
  const addDevice = db.prepare("INSERT INTO device_group_members (group_id, device_id, added_at) VALUES (?, ?, ?)");
  const bind = db.prepare(
    "INSERT INTO bindings (subject_type, subject_id, object_type, object_id, sudo_enabled, created_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const keys = JSON.stringify([SSH_KEY]);
  let uid = 5000;
  const user = (name: string) => {
    const id = `usr_${name}`;
    insertUser.run(id, name, `${name}@bench.test`, keys, uid, uid, at, at);
    uid++;
    return id;
  };
  const device = (name: string) => {
    const id = `dev_${name}`;
    insertDevice.run(id, name, name, at, name);
    return id;
  };

  return db.transaction((): Seeded => {
    // 1,000 users in 50 groups of 20, reaching one device: 25 groups bound to it, 25 to its device group.
    const bigDevice = device("big");
    insertDeviceGroup.run("dg_big", "big", at, at);
    addDevice.run("dg_big", bigDevice, at);
    for (let g = 0; g < 50; g++) {
      const group = `ug_g${g}`;
      insertUserGroup.run(group, `g${g}`, g % 5 === 0 ? 1 : 0, `g${g}`, 20_000 + g, at, at);
      for (let u = 0; u < 20; u++) addUser.run(group, user(`u${g}x${u}`), at);
      bind.run("user-group", group, g < 25 ? "device" : "device-group", g < 25 ? bigDevice : "dg_big", g % 7 === 0 ? 1 : null, at);
    }

    // 10,000 devices in one device group, bound to a user group of 50; an empty group bound there too.
    insertDeviceGroup.run("dg_fleet", "fleet", at, at);
    const fleet = Array.from({ length: 10_000 }, (_, i) => {
      const id = device(`fleet${i}`);
      addDevice.run("dg_fleet", id, at);
      return id;
    });
    insertUserGroup.run("ug_fleet", "fleet-ops", 0, "fleetops", 30_000, at, at);
    for (let u = 0; u < 50; u++) addUser.run("ug_fleet", user(`ops${u}`), at);
    bind.run("user-group", "ug_fleet", "device-group", "dg_fleet", null, at);
    insertUserGroup.run("ug_idle", "idle", 0, null, null, at, at);
    bind.run("user-group", "ug_idle", "device-group", "dg_fleet", null, at);
    return { bigDevice, fleet, fleetGroup: "ug_fleet", idleGroup: "ug_idle", spareUser: user("spare") };
  })();
}

/** Runs `fn` `runs` times (after one warm-up run) and returns the median and p95 in milliseconds. */
function sample(runs: number, fn: () => unknown): { median: number; p95: number } {
  fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, p95: times[Math.min(times.length - 1, Math.floor(times.length * 0.95))]! };
}

function ms(value: number): string {
  return value >= 100 ? `${value.toFixed(0)} ms` : value >= 1 ? `${value.toFixed(1)} ms` : `${(value * 1000).toFixed(0)} µs`;
}
