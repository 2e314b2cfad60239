-- Version 2: what else is known of a device (plan, country, app version…), as a JSON object of
-- text values. `pushcast send --where` and templates ({{plan}}) read them; `devices set` writes them.
ALTER TABLE pushcast.devices ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}';
