//! Procurement's error kinds are the platform's ([`aftersales_platform::error`]): one mapping to
//! gRPC status and one retry rule for the consumer, the same in every service. A deadlock or
//! serialization failure between two transactions is `Aborted` (retried by callers and by the
//! consumer); an unreachable database is `Unavailable` (the consumer pauses, no attempt used). A
//! stale or irrelevant event is answered `Ok` and changes nothing.

pub use aftersales_platform::error::Error;
