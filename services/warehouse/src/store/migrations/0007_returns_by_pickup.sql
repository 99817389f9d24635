-- A pick-up's unit is received once, whether logistics.pickup.completed or a clerk's
-- ReceiveReturn books it first: both look it up here under the pick-up's transaction lock. Not a
-- unique index: units booked twice under one pick-up before this existed would make it fail.
CREATE INDEX returned_units_pickup ON returned_units (pickup_no) WHERE pickup_no <> '';
