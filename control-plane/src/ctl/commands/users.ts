import { Option, type Command } from "commander";
import type { Page } from "../../domain/list-query.js";
import { USER_STATES, type User } from "../../domain/user.js";
import { contextOf } from "../context.js";
import { relativeTime, when } from "../format.js";
import { addListOptions, listQuery, renderPage, type ListFlags } from "../list.js";
import { renderFields, type Column } from "../table.js";
import { registerUserImportCommand } from "./users-import.js";

interface UserListFlags extends ListFlags {
  state?: string;
  department?: string;
}

const USER_COLUMNS: readonly Column<User>[] = [
  { header: "id", value: (u) => u.id },
  { header: "username", value: (u) => u.username },
  { header: "name", value: fullName },
  { header: "email", value: (u) => u.email },
  { header: "state", value: (u) => u.state },
  { header: "department", value: (u) => u.department },
  { header: "created", value: (u) => relativeTime(u.createdAt) },
];

export function registerUserCommands(program: Command): void {
  const users = program.command("users").description("Directory users");

  addListOptions(users.command("list").description("List users"))
    .addOption(new Option("--state <state>", "only users in this state").choices(USER_STATES))
    .option("--department <name>", "only users of this department")
    .action(async (flags: UserListFlags, command: Command) => {
      const { api, print } = contextOf(command);
      const page = await api.get<Page<User>>("/users", listQuery(flags, { state: flags.state, department: flags.department }));
      print(page, (p) => renderPage(p, USER_COLUMNS, "users", flags.skip));
    });

  users
    .command("get")
    .description("Show a user")
    .argument("<user>", "user id or username")
    .action(async (user: string, _flags, command: Command) => {
      const { api, print } = contextOf(command);
      print(await api.get<User>(`/users/${encodeURIComponent(user)}`), renderUser);
    });

  registerUserImportCommand(users);
}

function fullName(user: User): string {
  return user.displayname || [user.firstname, user.middlename, user.lastname].filter(Boolean).join(" ");
}

function renderUser(user: User): string {
  return renderFields([
    ["ID", user.id],
    ["Username", user.username],
    ["Name", fullName(user)],
    ["Email", user.email],
    ["State", `${user.state}${user.accountLocked ? ", locked" : ""}`],
    ["Password", user.hasPassword ? `set ${when(user.passwordSetAt)}` : "none (waiting for activation)"],
    ["Sudo", user.sudo ? (user.passwordlessSudo ? "yes, without password" : "yes") : "no"],
    ["Unix uid/gid", `${user.unixUid}/${user.unixGid}, ${user.shell}`],
    ["SSH keys", user.sshKeys.map((k) => `${k.name} ${k.fingerprint}`)],
    ["MFA", user.mfa.required ? `required, ${user.mfa.status.replace(/_/g, " ")}` : `not required, ${user.mfa.status.replace(/_/g, " ")}`],
    ["Job", [user.jobTitle, user.department, user.company].filter(Boolean).join(", ")],
    ["Employee ID", user.employeeIdentifier],
    ["Manager", user.manager],
    ["Created", when(user.createdAt)],
    ["Updated", when(user.updatedAt)],
  ]);
}
