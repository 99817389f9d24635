-- Claims and refunds are kept as JSON (the domain's ClaimDetail and Refund, see src/domain),
-- no longer as encoded protobuf. SQL cannot decode protobuf, so a row written before this
-- migration keeps its bytes until it is next written, and the service reads either: `detail`
-- when present, else the legacy bytes. New and rewritten rows carry only `detail`.
ALTER TABLE claims ADD COLUMN detail JSONB;
ALTER TABLE claims ALTER COLUMN claim DROP NOT NULL;
ALTER TABLE claims ADD CONSTRAINT claims_detail_or_legacy
    CHECK (detail IS NOT NULL OR claim IS NOT NULL);

-- During a rolling upgrade a replica still on the old binary may update a row that already has
-- `detail`, writing only the bytes: its `detail` would then be stale and read in preference. Such
-- a write drops `detail`, so the fresh bytes are what is read.
CREATE FUNCTION claims_legacy_write_drops_detail() RETURNS trigger AS $$
BEGIN
    IF NEW.claim IS NOT NULL AND NEW.claim IS DISTINCT FROM OLD.claim THEN
        NEW.detail := NULL;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER claims_legacy_write_drops_detail BEFORE UPDATE ON claims
    FOR EACH ROW EXECUTE FUNCTION claims_legacy_write_drops_detail();

-- A refund never changes after it is authorized: its columns are copied from `detail` at insert.
ALTER TABLE refunds ADD COLUMN detail JSONB;
ALTER TABLE refunds ALTER COLUMN refund DROP NOT NULL;
ALTER TABLE refunds ADD CONSTRAINT refunds_detail_or_legacy
    CHECK (detail IS NOT NULL OR refund IS NOT NULL);
