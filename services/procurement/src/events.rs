//! What procurement consumes, declared in one place ([`subscriptions`]), one handler file per
//! routing key: a shortage (of a request's first back-order or a replacement's) is bought, low
//! stock replenished, goods received advance their PO and score its supplier, a cancelled
//! request (from intake, or the warehouse releasing what it held, once per pick list or
//! back-order) is taken off what is bought for it.

pub mod goods_received;
pub mod request_cancelled;
pub mod reservation_released;
pub mod stock_low;
pub mod stock_shortage;

use aftersales_platform::bus::Subscription;

use crate::service::Procurement;

pub fn subscriptions(p: &Procurement) -> Vec<Subscription> {
    vec![
        Subscription::new(
            "warehouse.stock.shortage",
            stock_shortage::StockShortage::new(p),
        ),
        Subscription::new("warehouse.stock.low", stock_low::StockLow::new(p)),
        Subscription::new(
            "warehouse.goods.received",
            goods_received::GoodsReceived::new(p),
        ),
        Subscription::new(
            "intake.request.cancelled",
            request_cancelled::RequestCancelled::new(p),
        ),
        Subscription::new(
            "warehouse.reservation.released",
            reservation_released::ReservationReleased::new(p),
        ),
    ]
}
