//! Logistics' error kinds are the platform's ([`aftersales_platform::error`]): one mapping to
//! gRPC status and one retry rule for the consumer, the same in every service. A stale or
//! irrelevant event (a confirmation for a cancelled request, a tracking update older than the
//! shipment's state) is not an error: the handler answers `Ok` and changes nothing.

pub use aftersales_platform::error::Error;
