//! Protobuf contracts of the after-sales mesh, compiled from `proto/aftersales/**` at build time.
//!
//! # Layout
//! - `common::v1`: envelope, money, customer, product, part lines, enumerations.
//! - `<svc>::v1`: each service's gRPC API (`<Svc>Service`) and the events it publishes.
//! - [`catalogue`]: every event of the catalogue: routing key ↔ payload type, one table.
//! - [`FILE_DESCRIPTOR_SET`]: all of the above, for gRPC server reflection.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![allow(clippy::large_enum_variant, clippy::doc_lazy_continuation)]

/// Encoded `FileDescriptorSet` of every proto in this crate.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/aftersales_descriptor.bin"));

pub mod catalogue;

pub mod common {
    pub mod v1 {
        tonic::include_proto!("aftersales.common.v1");
    }
}

pub mod intake {
    pub mod v1 {
        tonic::include_proto!("aftersales.intake.v1");
    }
}

pub mod claims {
    pub mod v1 {
        tonic::include_proto!("aftersales.claims.v1");
    }
}

pub mod procurement {
    pub mod v1 {
        tonic::include_proto!("aftersales.procurement.v1");
    }
}

pub mod warehouse {
    pub mod v1 {
        tonic::include_proto!("aftersales.warehouse.v1");
    }
}

pub mod logistics {
    pub mod v1 {
        tonic::include_proto!("aftersales.logistics.v1");
    }
}

pub mod fieldservice {
    pub mod v1 {
        tonic::include_proto!("aftersales.fieldservice.v1");
    }
}

pub mod feedback {
    pub mod v1 {
        tonic::include_proto!("aftersales.feedback.v1");
    }
}
