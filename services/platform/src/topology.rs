//! Who consumes what (DESIGN §5): every service's inbox and the routing keys bound to it, in one
//! table, including services that are not deployed. Every service declares the whole table when
//! it starts (and the chart's topology Job does before an install or upgrade), so an inbox exists
//! before any producer publishes to it: an event is never routed to nobody because its consumer
//! was not up yet. A service refuses to start when its handlers and its row here disagree.

use aftersales_proto::catalogue;

/// Which routing keys an inbox binds.
#[derive(Debug, Clone, Copy)]
pub enum Keys {
    /// Exactly these.
    List(&'static [&'static str]),
    /// Every catalogue key except those starting with one of these prefixes (a service's own
    /// events, events that are about nothing it keeps).
    AllExcept(&'static [&'static str]),
    /// Every catalogue key.
    All,
}

/// A limit on an inbox that may fill while its consumer is away (the gateway's live feed: a
/// stopped gateway must not fill the broker until its memory alarm blocks every producer).
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// At most this many messages; the oldest are dropped first.
    pub max_length: u32,
    /// Messages older than this are dropped.
    pub message_ttl_ms: u32,
}

#[derive(Debug, Clone, Copy)]
pub struct Inbox {
    pub service: &'static str,
    pub keys: Keys,
    pub bound: Option<Bound>,
}

impl Inbox {
    /// The routing keys, sorted.
    pub fn routing_keys(&self) -> Vec<&'static str> {
        let mut keys: Vec<&'static str> = match self.keys {
            Keys::List(l) => l.to_vec(),
            Keys::AllExcept(prefixes) => catalogue::ALL
                .iter()
                .map(|e| e.routing_key)
                .filter(|k| !prefixes.iter().any(|p| k.starts_with(p)))
                .collect(),
            Keys::All => catalogue::ALL.iter().map(|e| e.routing_key).collect(),
        };
        keys.sort_unstable();
        keys.dedup();
        keys
    }
}

/// The whole mesh.
pub const TABLE: &[Inbox] = &[
    Inbox {
        service: "intake",
        // Every event about a request goes into its timeline; a dealer's batches, statements,
        // boxes of old parts, advance exchanges and consignments are about no customer's request.
        keys: Keys::AllExcept(&[
            "intake.",
            "claims.dealer_batch.",
            "claims.statement.",
            "warehouse.oldpart_batch.",
            "warehouse.advance_exchange.",
            "warehouse.consignment.",
            "logistics.consignment.",
        ]),
        bound: None,
    },
    Inbox {
        service: "claims-review",
        keys: Keys::List(&[
            "intake.request.submitted",
            "intake.request.cancelled",
            "logistics.consignment.dispatched",
            "warehouse.advance_exchange.overdue",
            "warehouse.oldpart_batch.inspected",
            "warehouse.return.inspected",
        ]),
        bound: None,
    },
    Inbox {
        service: "procurement",
        keys: Keys::List(&[
            "intake.request.cancelled",
            "warehouse.goods.received",
            "warehouse.reservation.released",
            "warehouse.stock.low",
            "warehouse.stock.shortage",
        ]),
        bound: None,
    },
    Inbox {
        service: "warehouse",
        keys: Keys::List(&[
            "claims.claim.approved",
            "claims.dealer_batch.decided",
            "fieldservice.workorder.completed",
            "intake.request.cancelled",
            "logistics.pickup.completed",
            "logistics.shipment.exception",
        ]),
        bound: None,
    },
    Inbox {
        service: "logistics",
        keys: Keys::List(&[
            "claims.claim.approved",
            "intake.request.cancelled",
            "warehouse.consignment.issued",
            "warehouse.parts.issued",
            "warehouse.reservation.confirmed",
            "warehouse.reservation.released",
        ]),
        bound: None,
    },
    Inbox {
        service: "field-service",
        keys: Keys::List(&[
            "claims.claim.approved",
            "feedback.survey.recorded",
            "intake.request.cancelled",
            "logistics.shipment.delivered",
        ]),
        bound: None,
    },
    Inbox {
        service: "feedback",
        // The KPIs are computed from the event history: feedback keeps every envelope.
        keys: Keys::AllExcept(&["feedback."]),
        bound: None,
    },
    Inbox {
        service: "gateway",
        // The live stream: every event, bounded, since a stream that nobody reads must not grow.
        keys: Keys::All,
        bound: Some(Bound {
            max_length: 100_000,
            message_ttl_ms: 3_600_000,
        }),
    },
];

/// A service's row.
pub fn inbox(service: &str) -> Option<&'static Inbox> {
    TABLE.iter().find(|i| i.service == service)
}

/// Checks that `handled` (the keys a service has handlers for) is exactly its row: a handler
/// whose key is missing would never receive its event, a key without a handler would fill the
/// DLQ.
pub fn check(service: &str, handled: &[&str]) -> Result<(), String> {
    let Some(row) = inbox(service) else {
        return if handled.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{service} handles {handled:?} but has no row in platform::topology::TABLE"
            ))
        };
    };
    let table = row.routing_keys();
    let mut handled: Vec<&str> = handled.to_vec();
    handled.sort_unstable();
    handled.dedup();
    let missing: Vec<_> = handled.iter().filter(|k| !table.contains(k)).collect();
    let unhandled: Vec<_> = table.iter().filter(|k| !handled.contains(k)).collect();
    if !missing.is_empty() {
        return Err(format!(
            "{service} has handlers for {missing:?}, which its row in platform::topology::TABLE does not bind"
        ));
    }
    if !unhandled.is_empty() {
        return Err(format!(
            "{service}'s row in platform::topology::TABLE binds {unhandled:?}, which it has no handler for"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_the_table_is_in_the_catalogue_and_every_service_has_one_row() {
        let mut services = std::collections::HashSet::new();
        for row in TABLE {
            assert!(services.insert(row.service), "two rows for {}", row.service);
            for k in row.routing_keys() {
                assert!(
                    catalogue::contains(k),
                    "{}: {k} is not in the catalogue",
                    row.service
                );
            }
        }
    }

    #[test]
    fn a_handler_outside_the_table_or_a_key_without_handler_is_refused() {
        let keys = inbox("claims-review").unwrap().routing_keys();
        assert!(check("claims-review", &keys).is_ok());
        let mut more = keys.clone();
        more.push("claims.claim.approved");
        assert!(
            check("claims-review", &more)
                .unwrap_err()
                .contains("does not bind")
        );
        assert!(
            check("claims-review", &keys[1..])
                .unwrap_err()
                .contains("no handler")
        );
        assert!(check("nobody", &[]).is_ok());
        assert!(check("nobody", &["x.y.z"]).is_err());
    }
}
