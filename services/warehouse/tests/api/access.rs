//! Who may call what: the warehouse checks the caller's role and branch on every RPC itself
//! (the gateway checks too, but a service does not rely on its caller). One table, RPC × role ×
//! branch, every RPC of the service in it.

use aftersales_platform::auth::Role;
use aftersales_platform::proto::warehouse::v1 as pb;
use prost::Message;
use sea_orm::TransactionTrait;
use tonic::{Code, Status};
use warehouse::domain::Urgency;

use crate::helpers::{Client, reserve_command, spawn_app, stock_part};

/// The rule of one RPC: the roles that may call it (admin always may) and whether only at head
/// office. A branch-scoped RPC (ListBackorders, GetPickList, ListOverdueOldParts, IssueParts)
/// is open to a branch, which sees its own rows only (checked below).
struct Rule {
    rpc: &'static str,
    roles: &'static [Role],
    head_office: bool,
}

const EVERYONE: &[Role] = &Role::ALL;
const WAREHOUSE: &[Role] = &[Role::Warehouse];
const BOOKKEEPERS: &[Role] = &[Role::Warehouse, Role::Procurement, Role::Analyst];
const PICKERS: &[Role] = &[
    Role::Warehouse,
    Role::Dispatcher,
    Role::Technician,
    Role::Logistics,
];

const fn rule(rpc: &'static str, roles: &'static [Role], head_office: bool) -> Rule {
    Rule {
        rpc,
        roles,
        head_office,
    }
}

const RULES: &[Rule] = &[
    rule("UpsertPart", WAREHOUSE, false),
    rule("GetPart", EVERYONE, false),
    rule("ListParts", EVERYONE, false),
    rule(
        "UpsertProductModel",
        &[Role::Warehouse, Role::Analyst],
        true,
    ),
    rule("ListProductModels", EVERYONE, false),
    rule("GetStock", EVERYONE, false),
    rule("ListLedger", BOOKKEEPERS, true),
    rule("ListBackorders", BOOKKEEPERS, false),
    rule("ReceiveGoods", WAREHOUSE, true),
    rule("RecordInspection", WAREHOUSE, true),
    rule("GetPickList", PICKERS, false),
    rule("IssueParts", WAREHOUSE, false),
    rule("ReceiveOldPart", WAREHOUSE, false),
    rule("ListOverdueOldParts", EVERYONE, false),
    rule("ReturnToSupplier", WAREHOUSE, true),
    rule("ReceiveReturn", WAREHOUSE, true),
    rule("InspectReturn", WAREHOUSE, true),
    rule("ListReturns", WAREHOUSE, true),
    rule("OpenStocktake", WAREHOUSE, true),
    rule("RecordCount", WAREHOUSE, true),
    rule("CloseStocktake", WAREHOUSE, true),
    rule("GetStocktake", BOOKKEEPERS, true),
    rule("ClosePeriod", WAREHOUSE, true),
    rule("ClassifyAbc", BOOKKEEPERS, false),
    rule("ReceiveOldPartBatch", WAREHOUSE, true),
    rule("InspectOldPartBatch", WAREHOUSE, true),
    // A dealer reads its own batches, which needs the token's dealer claim (`as_role` mints
    // none, so a bare dealer token is refused); dealer_old_parts checks a dealer's scope.
    rule("GetOldPartBatch", &[Role::Warehouse, Role::Reviewer], false),
    rule("TransferToTurnover", WAREHOUSE, true),
    // A dealer (with its dealer claim) asks for itself: checked in advance_exchange.
    rule("CreateAdvanceExchange", WAREHOUSE, true),
    rule("ReceiveAdvanceExchangeReturn", WAREHOUSE, true),
    rule(
        "ListAdvanceExchanges",
        &[Role::Warehouse, Role::Reviewer],
        false,
    ),
    // A dealer (with its dealer claim) orders for itself and reads its own: checked in
    // dealer_orders.
    rule("CreateDealerOrder", WAREHOUSE, true),
    rule("GetDealerOrder", &[Role::Warehouse, Role::Reviewer], false),
];

/// Calls `rpc` with a request that changes nothing (empty, so refused as invalid if the caller
/// gets that far), except GetPickList, which asks for `pick_list`.
async fn call(c: &mut Client, rpc: &str, pick_list: &str) -> Result<(), Status> {
    match rpc {
        "UpsertPart" => c
            .upsert_part(pb::UpsertPartRequest::default())
            .await
            .map(drop),
        "GetPart" => c.get_part(pb::GetPartRequest::default()).await.map(drop),
        "ListParts" => c
            .list_parts(pb::ListPartsRequest::default())
            .await
            .map(drop),
        "UpsertProductModel" => c
            .upsert_product_model(pb::UpsertProductModelRequest::default())
            .await
            .map(drop),
        "ListProductModels" => c
            .list_product_models(pb::ListProductModelsRequest::default())
            .await
            .map(drop),
        "GetStock" => c.get_stock(pb::GetStockRequest::default()).await.map(drop),
        "ListLedger" => c
            .list_ledger(pb::ListLedgerRequest::default())
            .await
            .map(drop),
        "ListBackorders" => c
            .list_backorders(pb::ListBackordersRequest::default())
            .await
            .map(drop),
        "ReceiveGoods" => c
            .receive_goods(pb::ReceiveGoodsRequest::default())
            .await
            .map(drop),
        "RecordInspection" => c
            .record_inspection(pb::RecordInspectionRequest::default())
            .await
            .map(drop),
        "GetPickList" => c
            .get_pick_list(pb::GetPickListRequest {
                pick_list_id: pick_list.into(),
            })
            .await
            .map(drop),
        "IssueParts" => c
            .issue_parts(pb::IssuePartsRequest::default())
            .await
            .map(drop),
        "ReceiveOldPart" => c
            .receive_old_part(pb::ReceiveOldPartRequest::default())
            .await
            .map(drop),
        "ListOverdueOldParts" => c
            .list_overdue_old_parts(pb::ListOverdueOldPartsRequest::default())
            .await
            .map(drop),
        "ReturnToSupplier" => c
            .return_to_supplier(pb::ReturnToSupplierRequest::default())
            .await
            .map(drop),
        "ReceiveReturn" => c
            .receive_return(pb::ReceiveReturnRequest::default())
            .await
            .map(drop),
        "InspectReturn" => c
            .inspect_return(pb::InspectReturnRequest::default())
            .await
            .map(drop),
        "ListReturns" => c
            .list_returns(pb::ListReturnsRequest::default())
            .await
            .map(drop),
        "OpenStocktake" => c
            .open_stocktake(pb::OpenStocktakeRequest {
                // An empty scope is every zone and part: refused for its bad zone instead.
                zones: vec![42],
                ..Default::default()
            })
            .await
            .map(drop),
        "RecordCount" => c
            .record_count(pb::RecordCountRequest::default())
            .await
            .map(drop),
        "CloseStocktake" => c
            .close_stocktake(pb::CloseStocktakeRequest::default())
            .await
            .map(drop),
        "GetStocktake" => c
            .get_stocktake(pb::GetStocktakeRequest::default())
            .await
            .map(drop),
        "ClosePeriod" => c
            .close_period(pb::ClosePeriodRequest::default())
            .await
            .map(drop),
        "ClassifyAbc" => c
            .classify_abc(pb::ClassifyAbcRequest {
                as_of_date: "not a date".into(),
            })
            .await
            .map(drop),
        "ReceiveOldPartBatch" => c
            .receive_old_part_batch(pb::ReceiveOldPartBatchRequest::default())
            .await
            .map(drop),
        "InspectOldPartBatch" => c
            .inspect_old_part_batch(pb::InspectOldPartBatchRequest::default())
            .await
            .map(drop),
        "GetOldPartBatch" => c
            .get_old_part_batch(pb::GetOldPartBatchRequest::default())
            .await
            .map(drop),
        "TransferToTurnover" => c
            .transfer_to_turnover(pb::TransferToTurnoverRequest::default())
            .await
            .map(drop),
        "CreateAdvanceExchange" => c
            .create_advance_exchange(pb::CreateAdvanceExchangeRequest::default())
            .await
            .map(drop),
        "ReceiveAdvanceExchangeReturn" => c
            .receive_advance_exchange_return(pb::ReceiveAdvanceExchangeReturnRequest::default())
            .await
            .map(drop),
        "ListAdvanceExchanges" => c
            .list_advance_exchanges(pb::ListAdvanceExchangesRequest::default())
            .await
            .map(drop),
        "CreateDealerOrder" => c
            .create_dealer_order(pb::CreateDealerOrderRequest::default())
            .await
            .map(drop),
        "GetDealerOrder" => c
            .get_dealer_order(pb::GetDealerOrderRequest::default())
            .await
            .map(drop),
        other => panic!("no call for {other}: add it to `call`"),
    }
}

/// The RPCs of WarehouseService, from the descriptor the service serves for reflection.
fn service_rpcs() -> Vec<String> {
    let set =
        prost_types::FileDescriptorSet::decode(aftersales_platform::proto::FILE_DESCRIPTOR_SET)
            .unwrap();
    set.file
        .iter()
        .filter(|f| f.package() == "aftersales.warehouse.v1")
        .flat_map(|f| f.service.iter())
        .filter(|s| s.name() == "WarehouseService")
        .flat_map(|s| s.method.iter().map(|m| m.name().to_owned()))
        .collect()
}

#[tokio::test]
async fn every_rpc_checks_the_callers_role_and_head_office_itself() {
    // Arrange: a pick list of branch SH01 (GetPickList is asked for it).
    let app = spawn_app().await;
    let mut clerk = app.clerk().await;
    stock_part(&mut clerk, "PWR-55-01", false, 5).await;
    let w = app.warehouse();
    let txn = w.db.begin().await.unwrap();
    w.reserve(
        &txn,
        &reserve_command("AS-2611-SH01-000001", Urgency::Normal, &[("PWR-55-01", 1)]),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let pick_list = "PL-AS-2611-SH01-000001";
    let mut rpcs: Vec<&str> = RULES.iter().map(|r| r.rpc).collect();
    rpcs.sort_unstable();
    let mut served = service_rpcs();
    served.sort_unstable();
    assert_eq!(rpcs, served, "every RPC of the service has one rule");

    // Act: every RPC as every role, at head office and at the pick list's branch.
    let mut wrong = Vec::new();
    let mut refused = 0;
    for r in RULES {
        for role in Role::ALL {
            for branch in ["*", "SH01"] {
                let allowed = (role == Role::Admin || r.roles.contains(&role))
                    && (!r.head_office || branch == "*");
                let mut client = app.as_role(branch, role).await;
                let got = call(&mut client, r.rpc, pick_list).await;
                let code = got.as_ref().err().map(Status::code);
                let denied = code == Some(Code::PermissionDenied);
                refused += usize::from(denied);
                if denied == allowed || code == Some(Code::Unauthenticated) {
                    wrong.push(format!(
                        "{} as {role} of {branch}: expected {}, got {:?}",
                        r.rpc,
                        if allowed {
                            "allowed"
                        } else {
                            "PERMISSION_DENIED"
                        },
                        got.err()
                    ));
                }
            }
        }
    }

    // Assert
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert!(refused > 100, "the table refuses callers ({refused})");
    app.stop().await;
}

#[tokio::test]
async fn a_branch_sees_only_its_own_pick_lists_and_back_orders() {
    // Arrange: a pick list and a back-order of SH01.
    let app = spawn_app().await;
    let mut clerk = app.clerk().await;
    stock_part(&mut clerk, "PWR-55-01", false, 1).await;
    let w = app.warehouse();
    for (no, part) in [
        ("AS-2611-SH01-000001", "PWR-55-01"),
        ("AS-2611-SH01-000002", "PWR-55-01"),
    ] {
        let txn = w.db.begin().await.unwrap();
        w.reserve(&txn, &reserve_command(no, Urgency::Normal, &[(part, 1)]))
            .await
            .unwrap();
        txn.commit().await.unwrap();
    }
    let backorders = |branch: &'static str| pb::ListBackordersRequest {
        branch: branch.into(),
        ..Default::default()
    };

    // Act + Assert: the pick list is SH01's; another branch is told it does not exist.
    for role in [
        Role::Dispatcher,
        Role::Technician,
        Role::Logistics,
        Role::Warehouse,
    ] {
        let mut own = app.as_role("SH01", role).await;
        let mut other = app.as_role("BJ02", role).await;
        let ask = || pb::GetPickListRequest {
            pick_list_id: "PL-AS-2611-SH01-000001".into(),
        };
        assert!(own.get_pick_list(ask()).await.is_ok(), "{role} of SH01");
        let err = other.get_pick_list(ask()).await.unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{role} of BJ02");
    }
    // The back-order is SH01's: BJ02 sees none of it, even when it asks for SH01's.
    for role in [Role::Warehouse, Role::Procurement, Role::Analyst] {
        let mut own = app.as_role("SH01", role).await;
        let mut other = app.as_role("BJ02", role).await;
        let mut head = app.as_role("*", role).await;
        let n = |r: tonic::Response<pb::ListBackordersResponse>| r.into_inner().backorders.len();
        assert_eq!(n(own.list_backorders(backorders("")).await.unwrap()), 1);
        assert_eq!(n(other.list_backorders(backorders("")).await.unwrap()), 0);
        assert_eq!(
            n(other.list_backorders(backorders("SH01")).await.unwrap()),
            0
        );
        assert_eq!(
            n(head.list_backorders(backorders("SH01")).await.unwrap()),
            1
        );
        assert_eq!(
            n(head.list_backorders(backorders("BJ02")).await.unwrap()),
            0
        );
    }
    app.stop().await;
}
