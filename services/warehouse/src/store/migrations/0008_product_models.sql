-- Product models (the unit a customer owns, e.g. the TV "X55") and where each is in its life:
-- the parts fill rate is judged by the lifecycle of a reservation's model. Out of production a
-- model says since when ("discontinued more than N years" counts from it).
CREATE TABLE product_models (
    -- Trimmed and upper-cased, as the catalogue and the reservations compare it.
    model            TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    product_category TEXT NOT NULL DEFAULT '',
    lifecycle        TEXT NOT NULL
        CHECK (lifecycle IN ('IN_PRODUCTION', 'SEMI_DISCONTINUED', 'DISCONTINUED')),
    discontinued_on  DATE,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT out_of_production_says_since_when
        CHECK ((lifecycle = 'IN_PRODUCTION') = (discontinued_on IS NULL))
);

-- The product model of the request a reservation serves (from claims.claim.approved; a
-- replacement copies its first reservation's). Empty when the claim named none, and on rows
-- written before this existed.
ALTER TABLE reservations ADD COLUMN product_model TEXT NOT NULL DEFAULT '';
