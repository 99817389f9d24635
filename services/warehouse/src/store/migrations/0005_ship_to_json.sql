-- Where a request's parts go, as JSON (recipient, phone, address, region by name, branch)
-- instead of an encoded protobuf message: readable in SQL and in a dump, and independent of the
-- proto's field numbers. New rows write only ship_to_json; rows written before keep their bytes
-- in ship_to, which the service decodes as a fallback; for new rows it is NULL.
ALTER TABLE reservations ADD COLUMN ship_to_json JSONB;
ALTER TABLE reservations ALTER COLUMN ship_to DROP NOT NULL;
