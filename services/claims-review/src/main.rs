//! `claims-review [--config PATH] [serve|migrate|dlq|outbox|topology|config]`: the kit does it all.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

fn main() -> std::process::ExitCode {
    aftersales_platform::kit::main::<claims_review::app::App>()
}
