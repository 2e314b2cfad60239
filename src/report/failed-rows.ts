import { columnRole } from '../audience/read-audience.js';
import { abVariantColumn, isAbVariantColumn, type DeviceRecipient } from '../domain/recipient.js';

/** What a device row says of the device, before a user's own columns: the reader takes each by these names. */
const deviceColumns = ['provider', 'token', 'apns_topic', 'apns_environment'];

/**
 * How `--failed-out` writes a recipient to send again later, so that the file can be passed back
 * as `--audience` and reach exactly the recipients not sent. A token list's rows are written as
 * they were. A user-ID audience's recipients are devices: written as the user's row, a user with
 * one device reached and one not would get the message twice on the first, so each row names its
 * device (provider, token, the APNs topic and environment it was sent with) before the user's own
 * columns, and carries the locale and time zone the registry gave it. An A/B campaign's rows say
 * their variant in an `ab_variant` column, which a campaign with the same --variant files keeps to.
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
  /** Where the variant goes; -1 when the campaign has none. */
  private readonly variant: number;

  constructor(audience: { shape: 'devices' | 'users'; header: string[]; freeText: number[] }, variants = false) {
    this.namesDevices = audience.shape === 'users';
    const before = this.namesDevices ? deviceColumns.length : 0;
    const header = [...(this.namesDevices ? deviceColumns : []), ...audience.header];
    const find = (named: (name: string) => boolean, name: string) => {
      const at = audience.header.findIndex(named);
      return at >= 0 ? before + at : header.push(name) - 1;
    };
    this.locale = this.namesDevices ? find((name) => columnRole(name) === 'locale', 'locale') : -1;
    this.timezone = this.namesDevices ? find((name) => columnRole(name) === 'timezone', 'timezone') : -1;
    this.variant = variants ? find(isAbVariantColumn, abVariantColumn) : -1;
    this.header = header;
    this.guarded = new Set(audience.freeText.map((index) => index + before));
  }

  row(recipient: DeviceRecipient): string[] {
    const row = this.namesDevices
      ? [
          recipient.provider,
          recipient.subscription ? JSON.stringify(recipient.subscription) : recipient.token,
          recipient.apnsTopic ?? '',
          recipient.apnsEnvironment ?? '',
          ...recipient.fields,
        ]
      : [...recipient.fields];
    if (this.locale >= 0) row[this.locale] = recipient.locale ?? '';
    if (this.timezone >= 0) row[this.timezone] = recipient.timezone ?? '';
    if (this.variant >= 0) row[this.variant] = recipient.variant ?? '';
    return row;
  }
}
