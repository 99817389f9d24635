//! The warehouse's error kinds are the platform's ([`aftersales_platform::error`]): one mapping
//! to gRPC status and one retry rule for the consumer, the same in every service. A serialization
//! failure or deadlock between two stock movements is `Aborted` (retried by callers and by the
//! consumer); an unreachable database is `Unavailable` (the consumer pauses, no attempt used).

pub use aftersales_platform::error::Error;
