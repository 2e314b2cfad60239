-- A device registers its token, or refreshes it: run on each registration by the app's backend.
-- $1 user id, $2 provider ('fcm' | 'apns' | 'webpush'), $3 token (web push: the endpoint),
-- $4 the token it replaces on a refresh (or NULL), $5 platform, $6 locale, $7 time zone,
-- $8 channels (text[], or NULL to keep them), $9 APNs topic, $10 APNs environment, $11 web push
-- subscription JSON. NULL keeps what the token it replaces declared, else what the device did;
-- a refreshed token keeps the old one's attributes, also when it was registered already.
-- The token moves to $1 if another user had it; a device marked invalid or logged out is live again.
WITH replaced AS (
  DELETE FROM pushcast.devices
  WHERE $4::text IS NOT NULL AND provider = $2 AND token = $4 AND token <> $3
  RETURNING app, environment, platform, locale, timezone, channels, attributes
)
INSERT INTO pushcast.devices AS d (user_id, provider, token, subscription, app, environment, platform, locale, timezone, channels, attributes)
SELECT $1, $2, $3, $11, COALESCE($9, r.app), COALESCE($10, r.environment), COALESCE($5, r.platform),
       COALESCE($6, r.locale), COALESCE($7, r.timezone), COALESCE($8::text[], r.channels, '{}'), COALESCE(r.attributes, '{}')
FROM (SELECT 1) AS one LEFT JOIN replaced AS r ON true
ON CONFLICT (provider, token) DO UPDATE SET
  user_id = EXCLUDED.user_id,
  subscription = COALESCE(EXCLUDED.subscription, d.subscription),
  app = COALESCE(EXCLUDED.app, d.app),
  environment = COALESCE(EXCLUDED.environment, d.environment),
  platform = COALESCE(EXCLUDED.platform, d.platform),
  locale = COALESCE(EXCLUDED.locale, d.locale),
  timezone = COALESCE(EXCLUDED.timezone, d.timezone),
  channels = COALESCE($8::text[], (SELECT r.channels FROM replaced AS r), d.channels),
  attributes = d.attributes || EXCLUDED.attributes,
  valid = true, invalid_reason = NULL, invalid_at = NULL,
  unregistered_at = NULL, unregistered_reason = NULL,
  updated_at = now(), last_seen = now();
