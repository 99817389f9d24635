//! The whole mesh end to end, through the gateway only, with the eight real binaries. One mesh
//! serves every test of this binary: the one `make test`'s whole-mesh stage started
//! (`MESH_ENV_FILE`, see scripts/whole-mesh.sh), or one this binary starts itself
//! (`mesh up --fast --collect-spans --exit-with <pid>`) when run alone. The demo operator plays
//! the people (the reviewer, the warehouse clerk, the dispatcher, the technicians, the branch
//! agents, and the demo dealer of SH01) from this process.

// The service boundary of .clippy.toml is for services on the kit; the operator of these tests
// runs on a runtime of its own that outlives each test's.
#![allow(clippy::disallowed_methods)]

mod dealers;
mod harness;
mod lifecycle;
mod observability;
mod traces;
