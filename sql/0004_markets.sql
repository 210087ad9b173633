-- Markets (docs/architecture.md, "Markets"): a match's markets other than its default one are rows
-- of matches too, with parent_id naming the match (0: a match, whose own options are its default
-- market) and market naming the market ('' for a default market left unnamed: "Match winner").
-- A bet names the match (match_id) and the market (market_id; the match's id for its default
-- market: every bet made before markets).

ALTER TABLE matches
    ADD COLUMN parent_id BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER id,
    ADD COLUMN market    VARCHAR(128)    NOT NULL DEFAULT '' AFTER parent_id,
    ADD KEY matches_parent (parent_id);

ALTER TABLE bets
    ADD COLUMN market_id BIGINT UNSIGNED NOT NULL DEFAULT 0 AFTER match_id,
    ADD KEY bets_market (market_id, state);

UPDATE bets SET market_id = match_id WHERE market_id = 0;
