import { columnRole } from '../audience/read-audience.js';
import type { DeviceRecipient } from '../domain/recipient.js';

/** What a device row says of the device, before a user's own columns: the reader takes each by these names. */
const deviceColumns = ['provider', 'token', 'apns_topic', 'apns_environment'];

/**
 * How `--failed-out` writes a recipient to send again later, so that the file can be passed back
 * as `--audience` and reach exactly the recipients not sent. A token list's rows are written as
 * they were. A user-ID audience's recipients are devices: written as the user's row, a user with
 * one device reached and one not would get the message twice on the first, so each row names its
 * device (provider, token, the APNs topic and environment it was sent with) before the user's own
 * columns, and carries the locale and time zone the registry gave it.
 */
export class FailedRows {
  readonly header: string[];
  /** The free-text columns, guarded against spreadsheet formulas as the audience's were. */
  readonly guarded: ReadonlySet<number>;
  /** A user-ID audience: each row names its device. */
  private readonly namesDevices: boolean;
  /** Where the user's row holds a locale or time zone, and whether they are added after it. */
  private readonly locale: number;
  private readonly timezone: number;

  constructor(audience: { shape: 'devices' | 'users'; header: string[]; freeText: number[] }) {
    this.namesDevices = audience.shape === 'users';
    if (!this.namesDevices) {
      this.header = audience.header;
      this.guarded = new Set(audience.freeText);
      this.locale = this.timezone = -1;
      return;
    }
    const header = [...deviceColumns, ...audience.header];
    const find = (role: 'locale' | 'timezone') => {
      const at = audience.header.findIndex((name) => columnRole(name) === role);
      return at >= 0 ? deviceColumns.length + at : header.push(role) - 1;
    };
    this.locale = find('locale');
    this.timezone = find('timezone');
    this.header = header;
    this.guarded = new Set(audience.freeText.map((index) => index + deviceColumns.length));
  }

  row(recipient: DeviceRecipient): string[] {
    if (!this.namesDevices) return recipient.fields;
    const token = recipient.subscription ? JSON.stringify(recipient.subscription) : recipient.token;
    const row = [recipient.provider, token, recipient.apnsTopic ?? '', recipient.apnsEnvironment ?? '', ...recipient.fields];
    row[this.locale] = recipient.locale ?? '';
    row[this.timezone] = recipient.timezone ?? '';
    return row;
  }
}
