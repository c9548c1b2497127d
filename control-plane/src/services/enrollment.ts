import type { RequestContext } from "../domain/actor.js";
import { AppError } from "../errors.js";
import { newId } from "../ids.js";
import type { Stores } from "../store/index.js";
import { audit } from "./audit.js";
import type { ConnectKeyService } from "./connect-keys.js";
import type { DeviceGroupService } from "./device-groups.js";
import type { DeviceCertificateSigner } from "./ports.js";

export interface EnrollmentRequest {
  connectKeySecret: string;
  csrPem: string;
  hostname: string;
  platform: string;
  displayName?: string | undefined;
  deviceGroups?: string[] | undefined;
}

export interface Enrollment {
  deviceId: string;
  certificatePem: string;
  caChainPem: string;
  certificateExpiresAt: string;
}

/**
 * Turns a connect key and a CSR into a device: one transaction, so a refused CSR or an unknown group
 * neither creates a device nor uses up the key.
 */
export class EnrollmentService {
  constructor(
    private readonly stores: Stores,
    private readonly connectKeys: ConnectKeyService,
    private readonly groups: DeviceGroupService,
    private readonly signer: DeviceCertificateSigner,
  ) {}

  enroll(ctx: RequestContext, request: EnrollmentRequest): Enrollment {
    return this.stores.transaction(() => {
      const key = this.connectKeys.consume(request.connectKeySecret, ctx.now);
      const groups = this.groups.resolveNames(request.deviceGroups ?? []);
      const deviceId = newId("dev", ctx.now.getTime());
      let issued;
      try {
        issued = this.signer.signDevice(request.csrPem, deviceId, ctx.now);
      } catch (error) {
        throw new AppError(400, "invalid_csr", `the certificate request was refused: ${(error as Error).message}`);
      }
      const at = ctx.now.toISOString();
      this.stores.devices.insert({
        id: deviceId,
        displayName: request.displayName ?? request.hostname,
        hostname: request.hostname,
        os: request.platform,
        enrolledAt: at,
        connectKeyId: key.id,
        certSerial: issued.serialNumber,
        certNotAfter: issued.notAfter.toISOString(),
      });
      for (const group of groups) this.stores.deviceGroups.addMembers(group.id, [deviceId], at);
      audit(this.stores.events, { ...ctx, actor: { type: "connect-key", id: key.id } }, {
        action: "device.enrolled",
        objectType: "device",
        objectId: deviceId,
        details: { hostname: request.hostname, platform: request.platform, connectKey: key.name, groups: groups.map((g) => g.name) },
      });
      return {
        deviceId,
        certificatePem: issued.certificatePem,
        caChainPem: this.signer.caChainPem,
        certificateExpiresAt: issued.notAfter.toISOString(),
      };
    });
  }
}
