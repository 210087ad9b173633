-- Players' deposit orders (docs/protocol.md "Orders"): created by the app (order_create.lua, ver 1),
-- completed by the payment provider's callback (wallet_change.lua: state paid, ver 2). The credit
-- itself is in payments and ledger, as for any payment.

CREATE TABLE orders (
    order_id    VARCHAR(64)     NOT NULL PRIMARY KEY,
    uid         BIGINT UNSIGNED NOT NULL,
    amount      BIGINT          NOT NULL,
    channel     VARCHAR(32)     NOT NULL,
    state       VARCHAR(16)     NOT NULL COMMENT 'created, paid',
    created_at  BIGINT UNSIGNED NOT NULL,
    paid_at     BIGINT UNSIGNED NULL,
    balance     BIGINT          NULL COMMENT 'balance right after the credit',
    ver         BIGINT UNSIGNED NOT NULL,
    KEY orders_uid (uid, created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
