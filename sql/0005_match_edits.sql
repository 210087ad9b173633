-- Match edits (docs/gm.md, "Edit a match"): where a match is streamed. An edit's other fields
-- (title, teams, start time, type, a market's name and terms) are columns already; each edit
-- raises the row's ver, and gm_audit keeps who changed what.

ALTER TABLE matches
    ADD COLUMN stream_url VARCHAR(512) NOT NULL DEFAULT '' AFTER team_b;
