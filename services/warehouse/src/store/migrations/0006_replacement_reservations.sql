-- A request holds further reservations after its first: one per shipment lost or damaged on the
-- way (logistics.shipment.exception with replacement_needed). `replacement` numbers them: 0 is
-- the first (pick list PL-<request no>), n the n-th replacement (PL-<request no>-R<n>). Rows and
-- lines written before keep 0.
ALTER TABLE reservations ADD COLUMN replacement INTEGER NOT NULL DEFAULT 0 CHECK (replacement >= 0);
-- The exception a replacement answers, once however often it is delivered (NULL on a first
-- reservation, which answers none), and the shipment it replaces.
ALTER TABLE reservations ADD COLUMN exception_id TEXT UNIQUE;
ALTER TABLE reservations ADD COLUMN replaces_shipment_no TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD CONSTRAINT a_replacement_answers_an_exception
    CHECK ((replacement = 0) = (exception_id IS NULL));
-- When the request's cancellation was handled, on its first reservation, whatever that
-- reservation's state: an ISSUED one stays ISSUED, and no replacement follows the cancellation.
ALTER TABLE reservations ADD COLUMN request_cancelled_at TIMESTAMPTZ;
UPDATE reservations SET request_cancelled_at = released_at WHERE status = 'RELEASED';

ALTER TABLE reservation_lines ADD COLUMN replacement INTEGER NOT NULL DEFAULT 0;
ALTER TABLE reservation_lines DROP CONSTRAINT reservation_lines_request_no_fkey;
ALTER TABLE reservation_lines DROP CONSTRAINT reservation_lines_pkey;
ALTER TABLE reservations DROP CONSTRAINT reservations_pkey;
ALTER TABLE reservations ADD PRIMARY KEY (request_no, replacement);
ALTER TABLE reservation_lines ADD PRIMARY KEY (request_no, replacement, part_no);
ALTER TABLE reservation_lines ADD FOREIGN KEY (request_no, replacement)
    REFERENCES reservations (request_no, replacement);
