use aftersales_platform::proto::warehouse::v1 as pb;

use crate::helpers::{assert_books_balance, spawn_app, stock};

#[tokio::test]
async fn seeding_the_demo_data_twice_books_the_stock_and_the_models_once() {
    let app = spawn_app().await;
    let addr = format!("http://{}", app.grpc_addr);
    let secret = aftersales_platform::testing::TEST_JWT_SECRET;
    warehouse::demo::seed(&addr, secret).await.unwrap();
    warehouse::demo::seed(&addr, secret).await.unwrap();
    let mut client = app.clerk().await;
    assert_eq!(stock(&mut client, "PWR-55-01").await.available, 500);
    assert_eq!(stock(&mut client, "PNL-55-01").await.available, 50);
    assert_eq!(stock(&mut client, "RMT-01").await.on_hand, 0);
    assert_eq!(app.count("SELECT count(*)::bigint FROM receipts").await, 2);
    let models = client
        .list_product_models(pb::ListProductModelsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .models;
    let seen: Vec<(&str, i32, &str)> = models
        .iter()
        .map(|m| (m.model.as_str(), m.lifecycle, m.discontinued_date.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("X50", pb::ModelLifecycle::Discontinued as i32, "2025-03-31"),
            ("X55", pb::ModelLifecycle::InProduction as i32, ""),
        ]
    );
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}
