//! Feedback's error kinds are the platform's ([`aftersales_platform::error`]): one mapping to
//! gRPC status and one retry rule for the consumer, the same in every service.

pub use aftersales_platform::error::Error;
