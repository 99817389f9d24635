-- The returns intake's work list (ListReturns): units of one status, oldest received first,
-- paged by (received_at, return_id).
CREATE INDEX returned_units_intake ON returned_units (status, received_at, return_id);
