//! The service as the kit sees it. (A skeleton: its issue builds the domain.)

use aftersales_platform::kit::{self, Ctx, NoCommand, Parts, Spec};

use crate::config::{SERVICE, Settings};
use crate::store::ALL_MIGRATIONS;

pub struct App;

impl kit::Service for App {
    const SPEC: Spec = Spec {
        name: SERVICE,
        about: "Feedback: return visits, surveys, complaints, KPIs",
        section: "feedback",
        grpc_port: Some(50057),
        http_port: None,
        admin_port: 51057,
        database: Some("aftersales_feedback"),
        migrations: ALL_MIGRATIONS,
        redis: false,
    };
    type Config = Settings;
    type Command = NoCommand;

    async fn build(_ctx: &mut Ctx<Settings>) -> anyhow::Result<Parts> {
        Ok(Parts::new())
    }
}
