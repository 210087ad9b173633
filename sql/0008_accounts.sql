-- Guests and closed accounts (docs/protocol.md "Accounts", msgs 105, 209, 210).
-- device: a guest's SHA-256 (hex) of its device id (the id itself is never stored); NULL once the
-- guest takes a username (209) and for everyone else. deleted_at: when the player closed the
-- account (210); the row stays (the ledger, bets and payments refer to it), anonymised.

ALTER TABLE users
    ADD COLUMN device     VARCHAR(64)     NULL DEFAULT NULL,
    ADD COLUMN deleted_at BIGINT UNSIGNED NULL DEFAULT NULL,
    ADD UNIQUE KEY users_device (device);
