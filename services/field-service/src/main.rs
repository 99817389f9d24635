//! `field-service [--config PATH] [serve|migrate|…]`: the kit does it all.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

fn main() -> std::process::ExitCode {
    aftersales_platform::kit::main::<field_service::app::App>()
}
