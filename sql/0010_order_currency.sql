-- Orders carry the currency they are paid in (the payment callback must name the same) and who made
-- them: '' for the player (msg 212), else the staff member (gm POST /api/orders). Orders made before
-- have neither ('').

ALTER TABLE orders
    ADD COLUMN currency   VARCHAR(3)  NOT NULL DEFAULT '' AFTER amount,
    ADD COLUMN created_by VARCHAR(64) NOT NULL DEFAULT '' COMMENT 'staff member; empty: the player' AFTER channel;
