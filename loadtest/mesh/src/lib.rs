//! The whole mesh on one machine, for the tests and tools that need every service at once: the
//! end-to-end tests, `make traces`, `make chaos` and the whole-mesh stage of `make test` start
//! the eight real binaries once ([`launch::Mesh`]) and share them.

pub mod chaos;
pub mod http;
pub mod launch;
pub mod ledger;
pub mod operator;
pub mod spans;

pub use launch::{Mesh, MeshOptions, SERVICES, Svc, svc};
pub use operator::{Operator, OperatorConfig};
