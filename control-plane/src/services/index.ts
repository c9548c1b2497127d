import type { Logger } from "pino";
import { SmtpMailer } from "../mail/smtp-mailer.js";
import type { BlobStore } from "../store/blobs.js";
import type { Stores } from "../store/index.js";
import { loadPortalConfig, type PortalConfig } from "../portal-config.js";
import { loadUserConfig, type UserConfig } from "../user-config.js";
import { AgentSessionService } from "./agent-sessions.js";
import { ApiKeyService } from "./api-keys.js";
import { BindingService } from "./bindings.js";
import type { Clock } from "./clock.js";
import { CommandService } from "./commands.js";
import { ConnectKeyService } from "./connect-keys.js";
import { DeviceGroupService } from "./device-groups.js";
import { DeviceRevisions } from "./device-revisions.js";
import { DeviceService } from "./devices.js";
import { Dispatcher } from "./dispatcher.js";
import { DownloadService } from "./downloads.js";
import { EnrollmentService } from "./enrollment.js";
import { EventService } from "./events.js";
import { ExecutionService } from "./executions.js";
import { FileService } from "./files.js";
import { MfaService } from "./mfa.js";
import { PortalAuthService } from "./portal-auth.js";
import type { AgentChannel, AgentPresence, DeviceCertificateSigner, Mailer, ServerIdentity, ServerTls } from "./ports.js";
import { CommandScheduler } from "./scheduler.js";
import { SecretBox } from "./secret-box.js";
import { loadImportConfig, type ImportConfig } from "./user-import-config.js";
import { UserImportService } from "./user-import.js";
import { UserGroupService } from "./user-groups.js";
import { UserService } from "./users.js";

export interface Services {
  apiKeys: ApiKeyService;
  connectKeys: ConnectKeyService;
  devices: DeviceService;
  deviceGroups: DeviceGroupService;
  events: EventService;
  enrollment: EnrollmentService;
  agentSessions: AgentSessionService;
  files: FileService;
  commands: CommandService;
  executions: ExecutionService;
  dispatcher: Dispatcher;
  scheduler: CommandScheduler;
  /** Bumps devices' desired-state revisions on directory changes; the users service reports to it. */
  revisions: DeviceRevisions;
  userGroups: UserGroupService;
  bindings: BindingService;
  users: UserService;
  /** CSV import of users. */
  userImport: UserImportService;
  mfa: MfaService;
  /** The user portal's sign-in, sessions and password changes. */
  portalAuth: PortalAuthService;
  /** Agent downloads, the install scripts and their one-liners. */
  downloads: DownloadService;
}

export interface ServiceDeps {
  signer: DeviceCertificateSigner;
  presence: AgentPresence;
  channel: AgentChannel;
  identity: () => ServerIdentity;
  blobs: BlobStore;
  clock: Clock;
  logger: Logger;
  /** Password policy, activation links and SMTP; absent: read from the TETHER_* environment. */
  userConfig?: UserConfig;
  /** Absent: SMTP from userConfig.smtpUrl when set, else no mail. */
  mailer?: Mailer;
  /** Limits of the CSV import; absent: read from the TETHER_* environment. */
  importConfig?: ImportConfig;
  /** The secret box's key file, DATA/pki/data.key (made on first use); absent: secrets (TOTP) cannot be sealed or read. */
  dataKeyFile?: string;
  /** Sessions, lock-out and rate limits of the user portal; absent: read from the TETHER_* environment. */
  portalConfig?: PortalConfig;
  /** The directory of agent downloads; absent: nothing to download. */
  downloadsDir?: string;
  /** The certificate the server presents and its own CA, for the install scripts; absent: the system trust store. */
  serverTls?: ServerTls;
}

export function createServices(stores: Stores, deps: ServiceDeps): Services {
  const connectKeys = new ConnectKeyService(stores, deps.identity);
  const revisions = new DeviceRevisions(stores);
  const deviceGroups = new DeviceGroupService(stores, revisions);
  const dispatcher = new Dispatcher(stores, deps.channel, deps.logger, () => deps.clock.now());
  const executions = new ExecutionService(stores, dispatcher, deps.logger);
  const commands = new CommandService(stores, executions);
  const scheduler = new CommandScheduler(stores, commands, deps.clock, deps.logger);
  commands.onScheduleChange(scheduler);
  const userConfig = deps.userConfig ?? loadUserConfig(process.env);
  const users = new UserService(stores, {
    config: userConfig,
    publicUrl: () => deps.identity().publicUrl,
    mailer: deps.mailer ?? (userConfig.smtpUrl ? new SmtpMailer(userConfig.smtpUrl, userConfig.mailFrom ?? defaultMailFrom(deps.identity().publicUrl)) : undefined),
    directory: revisions,
  });
  const userGroups = new UserGroupService(stores, revisions);
  const bindings = new BindingService(stores, revisions);
  const userImport = new UserImportService(stores, { users, userGroups, bindings, userConfig, config: deps.importConfig ?? loadImportConfig(process.env) });
  const mfa = new MfaService(stores, new SecretBox(deps.dataKeyFile));
  users.onMfaReset(mfa);
  const portalAuth = new PortalAuthService(stores, users, mfa, {
    config: deps.portalConfig ?? loadPortalConfig(process.env),
    passwordMinLength: userConfig.passwordMinLength,
    clock: deps.clock,
  });
  return {
    apiKeys: new ApiKeyService(stores),
    connectKeys,
    devices: new DeviceService(stores, deps.presence),
    deviceGroups,
    events: new EventService(stores),
    enrollment: new EnrollmentService(stores, connectKeys, deviceGroups, deps.signer),
    agentSessions: new AgentSessionService(stores, deps.signer, deps.presence),
    files: new FileService(stores, deps.blobs),
    commands,
    executions,
    dispatcher,
    scheduler,
    revisions,
    userGroups,
    bindings,
    users,
    userImport,
    mfa,
    portalAuth,
    downloads: new DownloadService({
      dir: deps.downloadsDir,
      tls: deps.serverTls,
      publicUrl: () => deps.identity().publicUrl,
    }),
  };
}

function defaultMailFrom(publicUrl: string): string {
  return `Tether <tether@${new URL(publicUrl).hostname}>`;
}
