/**
 * The form of a campaign id pushcast derived itself (from the audience and message contents,
 * campaign/campaign-id.ts), as against one a person gave with --campaign: only a given one is a name.
 */
export function derivedCampaignId(hex: string): string {
  return `c-${hex.slice(0, 16)}`;
}

export function isDerivedCampaignId(id: string): boolean {
  return /^c-[0-9a-f]{16}$/.test(id);
}
