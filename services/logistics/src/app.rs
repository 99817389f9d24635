//! The service as the kit sees it. (A skeleton: its issue builds the domain.)

use aftersales_platform::kit::{self, Ctx, NoCommand, Parts, Spec};

use crate::config::{SERVICE, Settings};
use crate::store::ALL_MIGRATIONS;

pub struct App;

impl kit::Service for App {
    const SPEC: Spec = Spec {
        name: SERVICE,
        about: "Logistics: delivery method, shipments, waybills, carrier tracking, exceptions, pick-ups",
        section: "logistics",
        grpc_port: Some(50055),
        http_port: None,
        admin_port: 51055,
        database: Some("aftersales_logistics"),
        migrations: ALL_MIGRATIONS,
        redis: false,
    };
    type Config = Settings;
    type Command = NoCommand;

    async fn build(_ctx: &mut Ctx<Settings>) -> anyhow::Result<Parts> {
        Ok(Parts::new())
    }
}
