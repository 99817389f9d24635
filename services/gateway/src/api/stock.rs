//! `GET /v1/stock/{part_no}` over warehouse's gRPC.

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::warehouse::v1 as pb;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Serialize;

use crate::api::claims::enum_text;
use crate::app::AppState;
use crate::extract::{ANY_ROLE, require};
use crate::peers::call;
use crate::problem::Problem;

#[derive(Debug, Serialize)]
pub struct Zone {
    pub zone: String,
    pub on_hand: u32,
    pub reserved: u32,
    pub available: u32,
}

#[derive(Debug, Serialize)]
pub struct Stock {
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

pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(part_no): Path<String>,
) -> Result<Json<Stock>, Problem> {
    require(&caller, ANY_ROLE)?;
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
