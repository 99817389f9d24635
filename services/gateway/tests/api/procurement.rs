//! Suppliers, quotes, purchase orders and the cost report through the gateway, against every
//! real service (procurement with its demo suppliers and quotes).

use aftersales_platform::auth::Role;
use aftersales_platform::testing;
use serde_json::json;

use crate::helpers::{
    WAIT, agent, head_office, in_warranty, spawn_full_mesh, token_of, violations,
};

fn buyer() -> String {
    token_of("buyer-1", "*", Role::Procurement)
}

#[tokio::test]
async fn head_office_registers_a_supplier_and_a_branch_or_another_role_is_refused_with_403() {
    let app = spawn_full_mesh().await;
    let body = json!({
        "supplier_id": "SUP-KANGDA", "name": "Ningbo Kangda Electronics",
        "phone": "+86 574 8765 4321", "email": "sales@kangda.example",
        "part_nos": ["PWR-55-01"], "lead_time_days": 6,
        "qualification": { "reputation_bp": 8500, "quality_bp": 9000, "capacity_bp": 8000,
                           "price_bp": 7500 }
    });
    let r = app.post_new("/v1/suppliers", &buyer(), &body).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let s = r.json();
    assert_eq!(s["supplier_id"], "SUP-KANGDA");
    assert_eq!(s["status"], "active");
    assert!(s["registered_at"].is_string());

    // Any head-office reader reads the register; a branch does not (403 at the gate).
    let r = app.get("/v1/suppliers/SUP-KANGDA", &head_office()).await;
    assert_eq!(r.status, 200);
    let r = app.get("/v1/suppliers?status=active", &head_office()).await;
    let ids: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["supplier_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(ids.contains(&"SUP-HUAXIN".to_owned()), "{ids:?}");
    let r = app.get("/v1/suppliers", &agent("SH01")).await;
    assert_eq!(r.status, 403);
    // An analyst reads but does not register.
    let r = app.post_new("/v1/suppliers", &head_office(), &body).await;
    assert_eq!(r.status, 403);

    // Bad input names the field before procurement is asked.
    let mut bad = body.clone();
    bad["qualification"]["quality_bp"] = json!(12000);
    bad["email"] = json!("not an address");
    let r = app.post_new("/v1/suppliers", &buyer(), &bad).await;
    assert_eq!(r.status, 400);
    let v = violations(&r.json());
    assert!(v.contains_key("qualification.quality_bp"), "{v:?}");
    assert!(v.contains_key("email"), "{v:?}");

    // Warned by hand, with its scorecard.
    let r = app
        .post_new(
            "/v1/suppliers/SUP-KANGDA/status",
            &buyer(),
            &json!({"status": "warned", "reason": "two late deliveries"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "warned");
    assert!(r.json()["fix_by_date"].is_string());
    let r = app
        .get(
            "/v1/suppliers/SUP-KANGDA/scorecard?from=2026-01-01&to=2026-12-31",
            &head_office(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["supplier_id"], "SUP-KANGDA");
    let r = app.get("/v1/suppliers/SUP-NOBODY", &head_office()).await;
    assert_eq!(r.status, 404);

    // Quotes: one more, then the comparison and its rule.
    let until = (chrono::Utc::now() + chrono::Duration::days(90))
        .date_naive()
        .to_string();
    let r = app
        .post_new(
            "/v1/quotes",
            &buyer(),
            &json!({"supplier_id": "SUP-HUAXIN", "part_no": "PWR-55-01",
                    "unit_price": {"currency": "CNY", "amount_minor": 17000},
                    "valid_until_date": until}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let r = app
        .get("/v1/quotes?part_no=PWR-55-01&quantity=2", &head_office())
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let cmp = r.json();
    assert!(
        !cmp["chosen_quote_id"].as_str().unwrap().is_empty(),
        "{cmp}"
    );
    assert!(!cmp["rule"].as_str().unwrap().is_empty());
    assert_eq!(cmp["quotes"][0]["rank"], 1);
    let r = app.get("/v1/quotes?quantity=2", &head_office()).await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("part_no"));

    let r = app
        .get(
            "/v1/reports/procurement-cost?group_by=supplier",
            &head_office(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["group_by"], "supplier");
    let r = app
        .get("/v1/reports/procurement-cost?month=2026-13", &head_office())
        .await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("month"));
    app.stop().await;
}

#[tokio::test]
async fn a_shortage_order_is_read_by_the_branch_it_serves_and_is_404_to_another() {
    let app = spawn_full_mesh().await;
    // No panel in stock: BJ02's request waits as a back-order and procurement orders it.
    let no = app.submit("BJ02", &in_warranty("BJ02", "PNL-55-01")).await;
    let po = testing::eventually(WAIT, || async {
        let r = app
            .get(&format!("/v1/purchase-orders?request_no={no}"), &buyer())
            .await;
        r.json()["items"].as_array()?.first().cloned()
    })
    .await
    .unwrap_or_else(|| panic!("a purchase order for {no}"));
    assert_eq!(po["reason"], "shortage");
    assert_eq!(po["status"], "issued");
    assert!(po["request_nos"].as_array().unwrap().contains(&json!(no)));
    assert!(po["choice"]["rule"].is_string(), "{po}");
    let po_number = po["po_number"].as_str().unwrap().to_owned();

    let path = format!("/v1/purchase-orders/{po_number}");
    let r = app.get(&path, &agent("BJ02")).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["lines"][0]["part_no"], "PNL-55-01");
    let r = app.get(&path, &agent("SH01")).await;
    assert_eq!(r.status, 404);
    let r = app.get("/v1/purchase-orders", &agent("SH01")).await;
    assert!(r.json()["items"].as_array().unwrap().is_empty());

    // Writing is head office's procurement: a branch's buyer gets 403 at the gate.
    let cancel = json!({"reason": "supplier cannot deliver"});
    let r = app
        .post_new(
            &format!("{path}/cancel"),
            &token_of("buyer-bj", "BJ02", Role::Procurement),
            &cancel,
        )
        .await;
    assert_eq!(r.status, 403);
    let promised = (chrono::Utc::now() + chrono::Duration::days(30))
        .date_naive()
        .to_string();
    let r = app
        .post_new(
            &format!("{path}/promised-date"),
            &buyer(),
            &json!({"promised_date": promised, "reason": "raw material late"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["promised_date"], promised.as_str());
    let r = app
        .post_new(&format!("{path}/cancel"), &buyer(), &cancel)
        .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["status"], "cancelled");
    assert_eq!(r.json()["cancel_reason"], "supplier cannot deliver");

    // A manual order to a supplier, by the rule's price.
    let r = app
        .post_new(
            "/v1/purchase-orders",
            &buyer(),
            &json!({"supplier_id": "SUP-HUAXIN", "lines": [{"part_no": "PWR-55-01", "quantity": 20}],
                    "note": "stock for the promotion"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["reason"], "manual");
    assert_eq!(r.json()["lines"][0]["quantity"], 20);
    let r = app
        .post_new(
            "/v1/purchase-orders",
            &buyer(),
            &json!({"lines": [{"part_no": "PWR-55-01", "quantity": 0}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(violations(&r.json()).contains_key("lines[0].quantity"));
    app.stop().await;
}
