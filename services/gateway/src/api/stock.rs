//! `GET /v1/stock/{part_no}` over warehouse's gRPC.

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::warehouse::v1 as pb;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::claims::enum_text;
#[allow(unused_imports)] // named by the schema attributes
use crate::api::schema::{PartNo, Zone as ZoneName};
use crate::app::AppState;
use crate::peers::call;
use crate::problem::Problem;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get))
}

/// A part's stock in one zone.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ZoneStock)]
pub struct Zone {
    #[schema(value_type = ZoneName)]
    pub zone: String,
    pub on_hand: u32,
    pub reserved: u32,
    pub available: u32,
}

/// A part's stock, by zone. The catalogue is the whole company's: every branch sees the same.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stock {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    pub available: u32,
    pub on_hand: u32,
    pub reserved: u32,
    pub reorder_point: u32,
    /// Units owed to open back-orders.
    pub backordered: u32,
    pub zones: Vec<Zone>,
}

impl From<pb::StockLevel> for Stock {
    fn from(s: pb::StockLevel) -> Self {
        Stock {
            zones: s
                .zones
                .iter()
                .map(|z| Zone {
                    zone: enum_text(z.zone().as_str_name(), "ZONE_"),
                    on_hand: z.on_hand,
                    reserved: z.reserved,
                    available: z.available,
                })
                .collect(),
            part_no: s.part_no,
            available: s.available,
            on_hand: s.on_hand,
            reserved: s.reserved,
            reorder_point: s.reorder_point,
            backordered: s.backordered,
        }
    }
}

/// Stock of a part, by zone
#[utoipa::path(
    get,
    path = "/v1/stock/{part_no}",
    tag = "warehouse",
    params(("part_no" = PartNo, Path)),
    responses((status = 200, description = "The stock", body = Stock)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("global")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(part_no): Path<String>,
) -> Result<Json<Stock>, Problem> {
    let part_no = crate::extract::part_no(&part_no)?.into_string();
    let mut client = state.peers.warehouse(&caller)?;
    let res = call(
        "warehouse",
        "aftersales.warehouse.v1.WarehouseService/GetStock",
        client.get_stock(pb::GetStockRequest { part_no }),
    )
    .await?;
    Ok(Json(Stock::from(res.stock.unwrap_or_default())))
}
