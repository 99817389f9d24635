//! Dealers' old parts by batch: expected from `claims.dealer_batch.decided`, received in a box
//! (counted, identified, booked into OLD_PARTS), inspected once into
//! `warehouse.oldpart_batch.inspected`, and read with its analysis.

use std::time::Duration;

use aftersales_platform::auth::Role;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::testing;
use prost::Message;
use tonic::Code;

use crate::helpers::{Client, TestApp, assert_books_balance, spawn_app, stock, violations, zone};

const DEALER: &str = "D-SH-0001";
const EXPECTED: &str = "SELECT count(*)::bigint FROM dealer_expected_parts";
const INSPECTED: &str =
    "SELECT count(*)::bigint FROM outbox WHERE routing_key = 'warehouse.oldpart_batch.inspected'";

/// Adds a part to the catalogue at `cost_minor` CNY a unit.
async fn catalogue(client: &mut Client, part_no: &str, cost_minor: i64) {
    client
        .upsert_part(pb::UpsertPartRequest {
            part: Some(warehouse::demo::demo_part(
                part_no,
                "Test part",
                pb::PartClass::Unit,
                cost_minor,
            )),
        })
        .await
        .expect("upsert part");
}

/// A dealer claim line `line_no` with one part (part_no, faulty serial), approved or rejected.
fn line(line_no: u32, part_no: &str, serial: &str, approved: bool) -> claims::DealerClaimLine {
    claims::DealerClaimLine {
        line_no,
        input: Some(claims::DealerClaimLineInput {
            parts: vec![claims::DealerPartUsed {
                part_no: part_no.into(),
                quantity: 1,
                faulty_serial: serial.into(),
                new_serial: format!("NEW-{serial}"),
            }],
            labour_minutes: 30,
            repaired_on: "2026-11-20".into(),
            ..Default::default()
        }),
        status: if approved {
            claims::DealerLineStatus::Approved
        } else {
            claims::DealerLineStatus::Rejected
        } as i32,
        ..Default::default()
    }
}

fn decided(batch_id: &str, lines: Vec<claims::DealerClaimLine>) -> claims::DealerBatchDecided {
    let due = chrono::Utc::now() + chrono::Duration::days(30);
    claims::DealerBatchDecided {
        batch_id: batch_id.into(),
        dealer_code: DEALER.into(),
        branch: "SH01".into(),
        decided_at: Some(prost_types::Timestamp {
            seconds: chrono::Utc::now().timestamp(),
            nanos: 0,
        }),
        old_parts_due_at: Some(prost_types::Timestamp {
            seconds: due.timestamp(),
            nanos: 0,
        }),
        lines,
        approved_total: None,
    }
}

/// Five lines, four approved: P-A/S1, P-B/S2, P-C/S3, P-B/S4; the rejected one (P-A/S5) expects
/// nothing back.
fn five_lines() -> Vec<claims::DealerClaimLine> {
    vec![
        line(1, "P-A", "S1", true),
        line(2, "P-B", "S2", true),
        line(3, "P-C", "S3", true),
        line(4, "P-B", "S4", true),
        line(5, "P-A", "S5", false),
    ]
}

fn boxed(part_no: &str, serial: &str) -> pb::BoxedOldPart {
    pb::BoxedOldPart {
        part_no: part_no.into(),
        quantity: 1,
        faulty_serial: serial.into(),
    }
}

/// A clerk's client, the catalogue (P-A 10.00, P-B 20.00, P-C 30.00, P-X 5.00) and the decided
/// batch DB-1 of [`five_lines`], whose expected parts are recorded.
async fn arrange(app: &TestApp) -> Client {
    let mut client = app.clerk().await;
    for (p, cost) in [("P-A", 1_000), ("P-B", 2_000), ("P-C", 3_000), ("P-X", 500)] {
        catalogue(&mut client, p, cost).await;
    }
    app.svc
        .publish("claims", "DB-1", "SH01", &decided("DB-1", five_lines()))
        .await;
    app.wait_count(EXPECTED, 4).await;
    client
}

/// Three parts identified (S1, S2, S3), one with another part_no than claimed (P-X for S4's
/// P-B), one unidentified (S9).
fn the_box(key: &str) -> pb::ReceiveOldPartBatchRequest {
    pb::ReceiveOldPartBatchRequest {
        idempotency_key: key.into(),
        dealer_code: DEALER.into(),
        parts: vec![
            boxed("P-A", "S1"),
            boxed("P-B", "S2"),
            boxed("P-C", "S3"),
            boxed("P-X", "S4"),
            boxed("P-A", "S9"),
        ],
        note: "box 1 of November".into(),
    }
}

fn verdict(position: u32, v: pb::BatchPartVerdict, note: &str) -> pb::PartVerdict {
    pb::PartVerdict {
        position,
        verdict: v as i32,
        note: note.into(),
    }
}

#[tokio::test]
async fn a_dealers_box_is_identified_booked_and_inspected_once_into_exactly_the_verdicts_found() {
    // Arrange
    let app = spawn_app().await;
    let mut inspected = app.subscribe("warehouse.oldpart_batch.inspected").await;
    let mut client = arrange(&app).await;

    // Act: receive the box (twice under the same key).
    let received = client
        .receive_old_part_batch(the_box("box-1"))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .receive_old_part_batch(the_box("box-1"))
        .await
        .unwrap()
        .into_inner();

    // Assert: counted, identified, booked once.
    let batch = received.batch.unwrap();
    assert!(!received.replayed && again.replayed);
    assert_eq!(again.batch.unwrap().batch_id, batch.batch_id);
    assert_eq!(
        (batch.identified, batch.wrong_part_no, batch.unidentified),
        (3, 1, 1)
    );
    assert_eq!(batch.branch, "SH01");
    let how: Vec<(i32, &str, u32, &str)> = batch
        .parts
        .iter()
        .map(|p| {
            (
                p.identification,
                p.claim_batch_id.as_str(),
                p.line_no,
                p.claimed_part_no.as_str(),
            )
        })
        .collect();
    use pb::OldPartIdentification as I;
    assert_eq!(
        how,
        vec![
            (I::Identified as i32, "DB-1", 1, "P-A"),
            (I::Identified as i32, "DB-1", 2, "P-B"),
            (I::Identified as i32, "DB-1", 3, "P-C"),
            (I::WrongPartNo as i32, "DB-1", 4, "P-B"),
            (I::Unidentified as i32, "", 0, ""),
        ]
    );
    assert_eq!(
        zone(&stock(&mut client, "P-A").await, pb::Zone::OldParts).on_hand,
        2
    );
    assert_eq!(
        zone(&stock(&mut client, "P-X").await, pb::Zone::OldParts).on_hand,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*)::bigint FROM ledger WHERE kind = 'OLD_PART_RETURN' \
             AND reference_type = 'old_part_batch' AND reference_id = '{}'",
            batch.batch_id
        ))
        .await,
        5,
        "one ledger row per part in the box"
    );

    // Act: inspect (the inspector calls the wrong part confirmed: it is WRONG_PART regardless).
    use pb::BatchPartVerdict as V;
    let inspect = pb::InspectOldPartBatchRequest {
        batch_id: batch.batch_id.clone(),
        verdicts: vec![
            verdict(0, V::ConfirmedFault, "burnt"),
            verdict(1, V::NoFaultFound, "works on the bench"),
            verdict(2, V::ConfirmedFault, ""),
            verdict(3, V::ConfirmedFault, "looks faulty"),
        ],
    };
    let done = client
        .inspect_old_part_batch(inspect.clone())
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    assert_eq!(done.status, pb::OldPartBatchStatus::Inspected as i32);
    let second = client.inspect_old_part_batch(inspect).await.unwrap_err();
    assert_eq!(second.code(), Code::FailedPrecondition, "{second:?}");

    // Assert: exactly one event, with exactly the verdicts found.
    let env = tokio::time::timeout(Duration::from_secs(30), inspected.recv())
        .await
        .expect("oldpart_batch.inspected published")
        .unwrap();
    assert_eq!(
        (env.subject.as_str(), env.branch.as_str()),
        (batch.batch_id.as_str(), "SH01")
    );
    let e = pb::OldPartBatchInspected::decode(env.payload.as_slice()).unwrap();
    use pb::OldPartVerdict as O;
    let found: Vec<(&str, u32, &str, &str, i32)> = e
        .parts
        .iter()
        .map(|p| {
            (
                p.claim_batch_id.as_str(),
                p.line_no,
                p.part_no.as_str(),
                p.faulty_serial.as_str(),
                p.verdict,
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            ("DB-1", 1, "P-A", "S1", O::ConfirmedFault as i32),
            ("DB-1", 2, "P-B", "S2", O::NoFaultFound as i32),
            ("DB-1", 3, "P-C", "S3", O::ConfirmedFault as i32),
            ("DB-1", 4, "P-B", "S4", O::WrongPart as i32),
        ]
    );
    assert_eq!(e.unidentified, 1);
    assert_eq!(
        (e.dealer_code.as_str(), e.inspected_by.as_str()),
        (DEALER, "clerk-1")
    );
    assert!(
        e.parts[3].note.contains("received P-X"),
        "{}",
        e.parts[3].note
    );
    assert_eq!(app.count(INSPECTED).await, 1, "staged once");

    // The analysis: top returned part numbers and the cost per verdict.
    let view = client
        .get_old_part_batch(pb::GetOldPartBatchRequest {
            batch_id: batch.batch_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let top: Vec<(&str, u32)> = view
        .top_parts
        .iter()
        .map(|t| (t.part_no.as_str(), t.quantity))
        .collect();
    assert_eq!(top, vec![("P-A", 2), ("P-B", 1), ("P-C", 1), ("P-X", 1)]);
    let cost = view.cost.unwrap();
    let by: Vec<(i32, u32, i64)> = cost
        .by_verdict
        .iter()
        .map(|c| (c.verdict, c.quantity, c.cost.as_ref().unwrap().amount_minor))
        .collect();
    assert_eq!(
        by,
        vec![
            (V::Unspecified as i32, 1, 1_000),
            (V::ConfirmedFault as i32, 2, 4_000),
            (V::NoFaultFound as i32, 1, 2_000),
            (V::WrongPart as i32, 1, 500),
        ]
    );
    let total = cost.total.unwrap();
    assert_eq!(
        (total.currency.as_str(), total.amount_minor),
        ("CNY", 7_500)
    );
    assert_books_balance(&app.db.conn).await;
    app.stop().await;
}

#[tokio::test]
async fn the_same_decision_delivered_twice_expects_its_old_parts_once() {
    let app = spawn_app().await;
    let payload = decided("DB-7", five_lines());

    // The same message twice (broker redelivery) and the same decision under a new event id.
    let id = uuid::Uuid::now_v7().to_string();
    app.svc
        .publish_with_id(&id, "claims", "DB-7", "SH01", &payload)
        .await;
    app.svc
        .publish_with_id(&id, "claims", "DB-7", "SH01", &payload)
        .await;
    app.svc.publish("claims", "DB-7", "SH01", &payload).await;
    app.wait_count(
        "SELECT count(*)::bigint FROM processed_events WHERE routing_key = 'claims.dealer_batch.decided'",
        2,
    )
    .await;

    assert_eq!(
        app.count(EXPECTED).await,
        4,
        "the four approved lines, once"
    );
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM dealer_expected_parts WHERE faulty_serial = 'S5'")
            .await,
        0,
        "a rejected line expects nothing back"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_bad_box_names_each_bad_field_and_writes_nothing() {
    let app = spawn_app().await;
    let mut client = arrange(&app).await;

    // Fields that do not parse.
    let err = client
        .receive_old_part_batch(pb::ReceiveOldPartBatchRequest {
            idempotency_key: "bad-1".into(),
            dealer_code: String::new(),
            parts: vec![
                pb::BoxedOldPart {
                    quantity: 0,
                    ..boxed("P-A", "S1")
                },
                boxed("P-B", "S2"),
                boxed("P-C", " "),
            ],
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = violations(&err);
    for f in ["dealer_code", "parts[0].quantity", "parts[2].faulty_serial"] {
        assert!(v.contains_key(f), "{f} not named: {v:?}");
    }
    assert_eq!(v.len(), 3, "{v:?}");

    // An empty box.
    let err = client
        .receive_old_part_batch(pb::ReceiveOldPartBatchRequest {
            idempotency_key: "bad-2".into(),
            dealer_code: DEALER.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(violations(&err).contains_key("parts"), "{err:?}");

    // Well-formed, but a dealer the warehouse never heard of and a part not in the catalogue.
    let err = client
        .receive_old_part_batch(pb::ReceiveOldPartBatchRequest {
            idempotency_key: "bad-3".into(),
            dealer_code: "D-XX-9999".into(),
            parts: vec![boxed("P-A", "S1"), boxed("NOPE-1", "S2")],
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = violations(&err);
    assert!(v.contains_key("dealer_code"), "{v:?}");
    assert!(v.contains_key("parts[1].part_no"), "{v:?}");

    // Nothing written.
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM old_part_batches")
            .await,
        0
    );
    assert_eq!(app.count("SELECT count(*)::bigint FROM ledger").await, 0);
    assert_eq!(
        app.count(
            "SELECT count(*)::bigint FROM dealer_expected_parts WHERE received_in IS NOT NULL"
        )
        .await,
        0
    );

    // An inspection naming a part that is not identified, and leaving one out.
    let batch = client
        .receive_old_part_batch(the_box("box-1"))
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    use pb::BatchPartVerdict as V;
    let err = client
        .inspect_old_part_batch(pb::InspectOldPartBatchRequest {
            batch_id: batch.batch_id.clone(),
            verdicts: vec![
                verdict(0, V::ConfirmedFault, ""),
                verdict(1, V::Unspecified, ""),
                verdict(4, V::ConfirmedFault, ""),
            ],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let v = violations(&err);
    assert!(v.contains_key("verdicts[1].verdict"), "{v:?}");
    let err = client
        .inspect_old_part_batch(pb::InspectOldPartBatchRequest {
            batch_id: batch.batch_id.clone(),
            verdicts: vec![
                verdict(0, V::ConfirmedFault, ""),
                verdict(4, V::ConfirmedFault, ""),
            ],
        })
        .await
        .unwrap_err();
    let v = violations(&err);
    assert!(v.contains_key("verdicts[1].position"), "{v:?}");
    assert!(v["verdicts"].contains("1 (S2)"), "{v:?}");
    assert_eq!(app.count(INSPECTED).await, 0, "nothing staged");
    assert_eq!(
        app.count("SELECT count(*)::bigint FROM old_part_batches WHERE status = 'INSPECTED'")
            .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_dealer_reads_its_own_batch_and_not_another_dealers() {
    let app = spawn_app().await;
    let mut client = arrange(&app).await;
    let batch = client
        .receive_old_part_batch(the_box("box-1"))
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    let get = || pb::GetOldPartBatchRequest {
        batch_id: batch.batch_id.clone(),
    };

    let mut own = app
        .client_with(&testing::dealer_token("dealer-1", "SH01", DEALER))
        .await;
    let seen = own.get_old_part_batch(get()).await.unwrap().into_inner();
    assert_eq!(seen.batch.unwrap().dealer_code, DEALER);

    let mut other = app
        .client_with(&testing::dealer_token("dealer-2", "SH01", "D-SH-0002"))
        .await;
    let err = other.get_old_part_batch(get()).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    let mut reviewer = app.as_role("*", Role::Reviewer).await;
    reviewer.get_old_part_batch(get()).await.unwrap();
    let mut elsewhere = app.as_role("BJ01", Role::Reviewer).await;
    let err = elsewhere.get_old_part_batch(get()).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "another branch's dealer");
    let err = own
        .receive_old_part_batch(the_box("box-2"))
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::PermissionDenied,
        "a dealer does not book stock"
    );
    app.stop().await;
}
