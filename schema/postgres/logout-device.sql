-- A user logs out of one device: it gets nothing until it registers again.
-- $1 provider, $2 token.
UPDATE pushcast.devices
SET unregistered_at = now(), unregistered_reason = 'logout', updated_at = now()
WHERE provider = $1 AND token = $2;
