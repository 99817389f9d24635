//! `warehouse [--config PATH] [serve|migrate|seed|dlq|outbox|topology|config]`: the kit does it.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

fn main() -> std::process::ExitCode {
    aftersales_platform::kit::main::<warehouse::app::App>()
}
