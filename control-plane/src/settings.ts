/** Keys of the settings table. */
export const SETTING = {
  publicUrl: "public_url",
  initialisedAt: "initialised_at",
} as const;
