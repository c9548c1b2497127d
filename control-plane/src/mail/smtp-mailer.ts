import { createTransport, type Transporter } from "nodemailer";
import type { Mailer } from "../services/ports.js";

/**
 * Mail over SMTP (nodemailer), from a URL such as `smtp://user:pass@mail.example.com:587`
 * (STARTTLS when the server offers it) or `smtps://…:465`. Timeouts are short: an admin waits for
 * the send before the API answers.
 */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = createTransport({ url, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 });
  }

  async send(mail: { to: string; subject: string; text: string }): Promise<void> {
    await this.transport.sendMail({ from: this.from, ...mail });
  }
}
