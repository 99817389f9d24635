-- A request may be short more than once: its first reservation's back-order (BO-<request no>)
-- and each replacement's for a shipment lost or damaged (BO-<request no>-R<n>), of the same part
-- too. A shortage is recorded once per back-order and part, however often it is announced.
-- Every existing row is unique per (request_no, part_no), so it is unique per this key too; the
-- request's demands (a cancellation takes them all off) are still found by its leading column.
DROP INDEX demands_request_part;
CREATE UNIQUE INDEX demands_backorder_part ON demands (request_no, backorder_id, part_no)
    WHERE request_no IS NOT NULL;
