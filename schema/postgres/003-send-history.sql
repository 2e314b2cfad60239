-- Version 3: the claims a campaign keeps are the send history a frequency cap (send --cap)
-- counts, by user and by device, within its window.
CREATE INDEX campaign_claims_by_user ON pushcast.campaign_claims (user_id, claimed_at);
CREATE INDEX campaign_claims_by_device ON pushcast.campaign_claims (provider, token, claimed_at);
