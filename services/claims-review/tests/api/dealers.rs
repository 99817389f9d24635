//! Dealers and agents (issue 23) against the real Postgres and RabbitMQ: a batch decided line by
//! line, its old parts' verdicts and deadline, monthly statements that never change once issued,
//! an overdue advance exchange, scopes and bad input.

use aftersales_platform::auth::Role;
use aftersales_platform::clock::Clock;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::warehouse::v1 as warehouse;
use aftersales_platform::testing::{self, TestService};
use chrono::{DateTime, Utc};
use claims_review::app::App;
use prost::Message as _;
use tonic::Code;

use crate::helpers::{TestApp, next_event, wrap};

pub(crate) const SCANNER: &str = claims_review::service::dealers::SCANNER;

pub(crate) fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Claims-review on a manual clock standing at `start`; the scanners run when asked.
pub(crate) async fn spawn(start: &str) -> TestApp {
    let clock = Clock::manual(at(start));
    wrap(
        TestService::<App>::builder()
            .env("AFTERSALES__CLAIMS_REVIEW__SLA_SCAN_INTERVAL_MS", "3600000")
            .env(
                "AFTERSALES__CLAIMS_REVIEW__DEALER_SCAN_INTERVAL_MS",
                "3600000",
            )
            .clock(clock)
            .start()
            .await,
    )
}

pub(crate) fn unique(prefix: &str) -> String {
    let n = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("{prefix}{}", &n[..10])
}

fn terms(return_days: u32) -> pb::DealerTerms {
    pb::DealerTerms {
        labour_rate_per_hour_minor: 12_000,
        standard_labour_minutes: [("television".to_owned(), 60)].into(),
        default_labour_minutes: 45,
        parts_margin_bp: 1_000,
        old_part_return_days: return_days,
        payment_days: 15,
        advance_exchange_return_days: 15,
    }
}

pub(crate) async fn register(app: &TestApp, branch: &str, return_days: u32) -> String {
    let code = unique("D-");
    let mut admin = app.as_role("*", Role::Admin).await;
    admin
        .create_dealer(pb::CreateDealerRequest {
            dealer: Some(pb::Dealer {
                code: code.clone(),
                name: "Pudong TV Service".into(),
                kind: pb::DealerKind::Dealer as i32,
                branch: branch.into(),
                terms: Some(terms(return_days)),
                created_at: None,
            }),
        })
        .await
        .unwrap();
    code
}

/// A television repair: the power board replaced, `minutes` of labour.
pub(crate) fn repair(
    serial: &str,
    invoice: &str,
    repaired: &str,
    minutes: u32,
) -> pb::DealerClaimLineInput {
    pb::DealerClaimLineInput {
        product: Some(common::Product {
            category: "television".into(),
            model: "X55".into(),
            serial: serial.into(),
            invoice_no: "INV-1".into(),
            invoice_date: invoice.into(),
            purchase_date: invoice.into(),
            ..Default::default()
        }),
        fault_description: "no picture".into(),
        parts: vec![pb::DealerPartUsed {
            part_no: "PWR-55-01".into(),
            quantity: 1,
            faulty_serial: format!("OLD-{serial}-{repaired}"),
            new_serial: format!("NEW-{serial}"),
        }],
        labour_minutes: minutes,
        repaired_on: repaired.into(),
    }
}

pub(crate) fn minor(m: &Option<common::Money>) -> i64 {
    m.as_ref().map(|m| m.amount_minor).unwrap_or(0)
}

/// The batch of the issue: 20 lines, 14 plain in-warranty repairs (45 min), 3 out of warranty,
/// 2 repeating the serials of lines 1 and 2 three days later, and line 20 claiming 90 minutes.
fn twenty(serials: &[String]) -> Vec<pb::DealerClaimLineInput> {
    let mut lines: Vec<_> = serials[..14]
        .iter()
        .map(|s| repair(s, "2026-06-01", "2026-11-05", 45))
        .collect();
    for s in &serials[14..17] {
        lines.push(repair(s, "2024-01-01", "2026-11-05", 45));
    }
    lines.push(repair(&serials[0], "2026-06-01", "2026-11-08", 45));
    lines.push(repair(&serials[1], "2026-06-01", "2026-11-08", 45));
    lines.push(repair(&serials[17], "2026-06-01", "2026-11-06", 90));
    lines
}

// Hand-computed with the demo policy and `terms`: the power board has no list price, so its fee
// schedule price 450.00 counts, plus the 10 % margin = 495.00; 45 min at 120.00/h = 90.00;
// line 20's 90 min are paid at the 60-min standard = 120.00.
pub(crate) const PLAIN_LINE: i64 = 9_000 + 49_500;
const LONG_LINE: i64 = 12_000 + 49_500;
const APPROVED: i64 = 14 * PLAIN_LINE + LONG_LINE; // 880 500
// November also holds a one-line batch of the 25th; line 3's old part never arrives.
const NOVEMBER_NET: i64 = APPROVED + PLAIN_LINE - PLAIN_LINE;

#[tokio::test]
async fn a_batch_of_twenty_settles_to_the_hand_computed_amounts_and_an_issued_month_never_changes()
{
    let app = spawn("2026-11-10T02:00:00Z").await;
    let mut decided = app.subscribe("claims.dealer_batch.decided").await;
    let mut issued = app.subscribe("claims.statement.issued").await;
    let code = register(&app, "SH01", 10).await;
    let token = testing::dealer_token("dealer-1", "SH01", &code);
    let mut dealer = app.client_with(&token).await;
    let serials: Vec<String> = (0..18).map(|_| unique("SN")).collect();
    let submit = pb::SubmitDealerBatchRequest {
        dealer_code: code.clone(),
        lines: twenty(&serials),
        idempotency_key: "batch-2026-11-a".into(),
    };
    let b = dealer
        .submit_dealer_batch(submit.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(!b.replayed);
    let batch = b.batch.unwrap();
    let reasons: Vec<_> = batch
        .lines
        .iter()
        .map(|l| (l.line_no, l.status(), l.reason()))
        .collect();
    use pb::DealerLineReason as R;
    use pb::DealerLineStatus as S;
    for (no, status, reason) in &reasons {
        let want = match no {
            15..=17 => (S::Rejected, R::OutOfWarranty),
            18 | 19 => (S::Rejected, R::DuplicateSerial),
            _ => (S::Approved, R::Unspecified),
        };
        assert_eq!((*status, *reason), want, "line {no}");
    }
    assert_eq!(minor(&batch.approved_total), APPROVED);
    assert_eq!((batch.approved_lines, batch.rejected_lines), (15, 5));
    let long = &batch.lines[19];
    assert_eq!(long.labour_minutes_paid, 60);
    assert_eq!(minor(&long.labour) + minor(&long.parts), LONG_LINE);
    assert!(
        long.explanation
            .iter()
            .any(|e| e.contains("90 labour minutes claimed, 60 standard"))
    );
    let oow = &batch.lines[14];
    assert!(
        oow.explanation
            .iter()
            .any(|e| e.contains("out of warranty")),
        "{:?}",
        oow.explanation
    );
    // The warranty policy's own explanation comes first, as for a customer's claim.
    assert!(oow.explanation[0].starts_with('['));

    let env = next_event(&mut decided, "claims.dealer_batch.decided", &batch.batch_id).await;
    let ev = pb::DealerBatchDecided::decode(env.payload.as_slice()).unwrap();
    assert_eq!(minor(&ev.approved_total), APPROVED);
    assert_eq!(env.branch, "SH01");

    // The same key again: the first answer, nothing written.
    let lines_before = app.count("SELECT count(*) FROM dealer_lines").await;
    let entries_before = app.count("SELECT count(*) FROM dealer_entries").await;
    let again = dealer
        .submit_dealer_batch(submit.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(again.replayed);
    assert_eq!(again.batch.unwrap().batch_id, batch.batch_id);
    assert_eq!(
        app.count("SELECT count(*) FROM dealer_lines").await,
        lines_before
    );
    assert_eq!(
        app.count("SELECT count(*) FROM dealer_entries").await,
        entries_before
    );
    // The same key with other lines is refused.
    let mut other = submit.clone();
    other.lines.truncate(3);
    let e = dealer.submit_dealer_batch(other).await.unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");

    // The warehouse confirms the faults of every approved line's old part but line 3's.
    app.clock().set(at("2026-11-15T02:00:00Z"));
    let verdicts: Vec<warehouse::OldPartInspection> = batch
        .lines
        .iter()
        .filter(|l| l.status() == S::Approved && l.line_no != 3)
        .map(|l| {
            let p = &l.input.as_ref().unwrap().parts[0];
            warehouse::OldPartInspection {
                claim_batch_id: batch.batch_id.clone(),
                line_no: l.line_no,
                part_no: p.part_no.clone(),
                faulty_serial: p.faulty_serial.clone(),
                verdict: warehouse::OldPartVerdict::ConfirmedFault as i32,
                note: String::new(),
            }
        })
        .collect();
    assert_eq!(verdicts.len(), 14);
    let inspected = warehouse::OldPartBatchInspected {
        batch_id: "OPB-1".into(),
        dealer_code: code.clone(),
        branch: "SH01".into(),
        parts: verdicts,
        unidentified: 0,
        inspected_at: None,
        inspected_by: "clerk".into(),
    };
    app.publish("OPB-1", "SH01", &inspected).await;
    let recorded = format!(
        "SELECT count(*) FROM dealer_old_parts WHERE batch_id = '{}' AND verdict IS NOT NULL",
        batch.batch_id
    );
    testing::eventually(std::time::Duration::from_secs(20), || async {
        (app.count(&recorded).await == 14).then_some(())
    })
    .await
    .expect("the 14 verdicts recorded");

    // The deadline (10 days after the decision) passes: line 3 is charged back in November.
    app.clock().set(at("2026-11-21T02:00:00Z"));
    app.svc.scan(SCANNER).await;
    let b = dealer
        .get_dealer_batch(pb::GetDealerBatchRequest {
            batch_id: batch.batch_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    let charged: Vec<_> = b
        .lines
        .iter()
        .filter(|l| l.status() == S::ChargedBack)
        .map(|l| {
            (
                l.line_no,
                l.reason(),
                minor(&l.charged_back),
                l.charge_back_period.clone(),
            )
        })
        .collect();
    assert_eq!(
        charged,
        vec![(3, R::OldPartNotReturned, PLAIN_LINE, "2026-11".to_owned())]
    );
    // A second scan finds nothing more to charge.
    app.svc.scan(SCANNER).await;
    assert_eq!(
        app.count("SELECT count(*) FROM dealer_entries WHERE kind = 'charge_back'")
            .await,
        1
    );

    // November 25th: a one-line batch whose old part is due back on December 5th.
    app.clock().set(at("2026-11-25T02:00:00Z"));
    let late_serial = unique("SN");
    let b2 = dealer
        .submit_dealer_batch(pb::SubmitDealerBatchRequest {
            dealer_code: code.clone(),
            lines: vec![repair(&late_serial, "2026-06-01", "2026-11-24", 45)],
            idempotency_key: "batch-2026-11-b".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    assert_eq!(b2.lines[0].status(), S::Approved);
    assert_eq!(b2.lines[0].period, "2026-11");

    // December 1st, 00:30 local: November is issued.
    app.clock().set(at("2026-11-30T16:30:00Z"));
    app.svc.scan(SCANNER).await;
    let subject = format!("{code}/2026-11");
    let env = next_event(&mut issued, "claims.statement.issued", &subject).await;
    let ev = pb::StatementIssued::decode(env.payload.as_slice()).unwrap();
    let read = |dealer: &mut crate::helpers::Client, period: &str| {
        let mut dealer = dealer.clone();
        let req = pb::GetStatementRequest {
            dealer_code: code.clone(),
            period: period.into(),
        };
        async move {
            dealer
                .get_statement(req)
                .await
                .unwrap()
                .into_inner()
                .statement
                .unwrap()
        }
    };
    let november = read(&mut dealer, "2026-11").await;
    assert_eq!(Some(&november), ev.statement.as_ref());
    assert_eq!(november.status(), pb::StatementStatus::Issued);
    assert_eq!(minor(&november.claims_total), APPROVED + PLAIN_LINE);
    assert_eq!(minor(&november.charges_total), PLAIN_LINE);
    assert_eq!(minor(&november.net), NOVEMBER_NET);
    assert_eq!(november.entries.len(), 17);
    assert_eq!(
        (november.new_parts_sent, november.old_parts_returned),
        (16, 14)
    );
    assert_eq!(november.payment_due, "2026-12-16");

    // December 2nd, a late verdict: the November 25th repair's old part works. The charge-back
    // goes on December; November stays exactly as issued.
    app.clock().set(at("2026-12-02T02:00:00Z"));
    let part = &b2.lines[0].input.as_ref().unwrap().parts[0];
    let late = warehouse::OldPartBatchInspected {
        batch_id: "OPB-2".into(),
        dealer_code: code.clone(),
        branch: "SH01".into(),
        parts: vec![warehouse::OldPartInspection {
            claim_batch_id: b2.batch_id.clone(),
            line_no: 1,
            part_no: part.part_no.clone(),
            faulty_serial: part.faulty_serial.clone(),
            verdict: warehouse::OldPartVerdict::NoFaultFound as i32,
            note: "works on the bench".into(),
        }],
        unidentified: 0,
        inspected_at: None,
        inspected_by: "clerk".into(),
    };
    app.publish("OPB-2", "SH01", &late).await;
    let late_charged = format!(
        "SELECT count(*) FROM dealer_lines WHERE batch_id = '{}' AND charge_back_period = '2026-12'",
        b2.batch_id
    );
    testing::eventually(std::time::Duration::from_secs(20), || async {
        (app.count(&late_charged).await == 1).then_some(())
    })
    .await
    .expect("the late charge-back on December");
    // An overdue advance exchange, delivered twice, is charged once, in December.
    let overdue = warehouse::AdvanceExchangeOverdue {
        exchange_id: unique("AX-"),
        dealer_code: code.clone(),
        branch: "SH01".into(),
        part_no: "PNL-55-01".into(),
        quantity: 1,
        defective_serial: "PNL-BAD-1".into(),
        shipped_at: None,
        due_at: None,
        charge: Some(common::Money {
            currency: "CNY".into(),
            amount_minor: 120_000,
        }),
    };
    app.publish(&overdue.exchange_id, "SH01", &overdue).await;
    app.publish(&overdue.exchange_id, "SH01", &overdue).await;
    let charged_ax = format!(
        "SELECT count(*) FROM dealer_entries WHERE reference = '{}'",
        overdue.exchange_id
    );
    testing::eventually(std::time::Duration::from_secs(20), || async {
        (app.count(&charged_ax).await == 1).then_some(())
    })
    .await
    .expect("the overdue exchange charged");
    let december = read(&mut dealer, "2026-12").await;
    assert_eq!(december.status(), pb::StatementStatus::Open);
    assert_eq!(minor(&december.charges_total), PLAIN_LINE + 120_000);
    assert_eq!(minor(&december.net), -(PLAIN_LINE + 120_000));
    assert_eq!(minor(&december.arrears), 0);
    assert_eq!(december.old_parts_returned, 1);
    assert_eq!(
        december
            .entries
            .iter()
            .map(|e| e.kind())
            .collect::<Vec<_>>(),
        vec![
            pb::StatementEntryKind::ChargeBack,
            pb::StatementEntryKind::AdvanceExchangeOverdue
        ]
    );
    assert_eq!(read(&mut dealer, "2026-11").await, november);

    // A repair already on the issued November statement cannot be claimed again.
    let b2 = dealer
        .submit_dealer_batch(pb::SubmitDealerBatchRequest {
            dealer_code: code.clone(),
            lines: vec![repair(&serials[0], "2026-06-01", "2026-11-05", 45)],
            idempotency_key: "batch-2026-12-a".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    let l = &b2.lines[0];
    assert_eq!((l.status(), l.reason()), (S::Rejected, R::AlreadyClaimed));
    assert!(
        l.explanation
            .last()
            .unwrap()
            .contains("settled on the statement of 2026-11"),
        "{:?}",
        l.explanation
    );
    assert_eq!(read(&mut dealer, "2026-11").await, november);
    app.stop().await;
}

#[tokio::test]
async fn a_dealer_sees_only_its_own_and_bad_batches_name_the_field_and_write_nothing() {
    let app = spawn("2026-11-10T02:00:00Z").await;
    let mine = register(&app, "SH01", 30).await;
    let theirs = register(&app, "SH01", 30).await;
    let mut me = app
        .client_with(&testing::dealer_token("me", "SH01", &mine))
        .await;
    let mut them = app
        .client_with(&testing::dealer_token("them", "SH01", &theirs))
        .await;
    let b = me
        .submit_dealer_batch(pb::SubmitDealerBatchRequest {
            dealer_code: mine.clone(),
            lines: vec![repair(&unique("SN"), "2026-06-01", "2026-11-05", 30)],
            idempotency_key: "k1".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .batch
        .unwrap();
    let e = them
        .get_dealer_batch(pb::GetDealerBatchRequest {
            batch_id: b.batch_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    for period in ["2026-11", "2026-10"] {
        let e = them
            .get_statement(pb::GetStatementRequest {
                dealer_code: mine.clone(),
                period: period.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::NotFound);
    }
    let e = them
        .get_dealer(pb::GetDealerRequest { code: mine.clone() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    let listed = them
        .list_dealers(pb::ListDealersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .dealers;
    assert_eq!(
        listed.iter().map(|d| d.code.as_str()).collect::<Vec<_>>(),
        vec![theirs.as_str()]
    );
    // Head office and the branch see it; another branch does not.
    let mut hq = app.reviewer("hq").await;
    hq.get_dealer_batch(pb::GetDealerBatchRequest {
        batch_id: b.batch_id.clone(),
    })
    .await
    .unwrap();
    let mut bj = app.as_role("BJ02", Role::Reviewer).await;
    let e = bj
        .get_dealer(pb::GetDealerRequest { code: mine.clone() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    // Only a dealer (or admin) submits; a reviewer may not.
    let e = hq
        .submit_dealer_batch(pb::SubmitDealerBatchRequest {
            dealer_code: mine.clone(),
            lines: vec![repair(&unique("SN"), "2026-06-01", "2026-11-05", 30)],
            idempotency_key: "k2".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);

    let batches = app.count("SELECT count(*) FROM dealer_batches").await;
    let fields = testing::bad_request_fields;
    // Another dealer's code, an unknown dealer, an empty batch, a line with bad fields.
    let e = them
        .submit_dealer_batch(pb::SubmitDealerBatchRequest {
            dealer_code: mine.clone(),
            lines: vec![repair(&unique("SN"), "2026-06-01", "2026-11-05", 30)],
            idempotency_key: "k3".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(fields(&e), vec!["dealer_code"]);
    let e = app
        .client_with(&testing::token("root", "*", &[Role::Admin]))
        .await
        .submit_dealer_batch(pb::SubmitDealerBatchRequest {
            dealer_code: "D-NOBODY".into(),
            lines: vec![repair(&unique("SN"), "2026-06-01", "2026-11-05", 30)],
            idempotency_key: "k4".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&e), vec!["dealer_code"]);
    let e = me
        .submit_dealer_batch(pb::SubmitDealerBatchRequest {
            dealer_code: mine.clone(),
            lines: vec![],
            idempotency_key: "k5".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&e), vec!["lines"]);
    let mut bad = repair("", "2026-06-01", "2026-11-31", 100_000);
    bad.parts[0].quantity = 0;
    let e = me
        .submit_dealer_batch(pb::SubmitDealerBatchRequest {
            dealer_code: mine.clone(),
            lines: vec![repair(&unique("SN"), "2026-06-01", "2026-11-05", 30), bad],
            idempotency_key: "k6".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&e),
        vec![
            "lines[1].product.serial",
            "lines[1].labour_minutes",
            "lines[1].repaired_on",
            "lines[1].parts[0].quantity",
        ]
    );
    assert_eq!(
        app.count("SELECT count(*) FROM dealer_batches").await,
        batches
    );
    app.stop().await;
}

#[tokio::test]
async fn only_head_office_registers_dealers_and_a_code_is_taken_once() {
    let app = spawn("2026-11-10T02:00:00Z").await;
    let code = register(&app, "SH01", 30).await;
    let mut admin = app.as_role("*", Role::Admin).await;
    let dealer = |code: &str, branch: &str| pb::CreateDealerRequest {
        dealer: Some(pb::Dealer {
            code: code.into(),
            name: "Again".into(),
            kind: pb::DealerKind::Agent as i32,
            branch: branch.into(),
            terms: Some(terms(30)),
            created_at: None,
        }),
    };
    let e = admin
        .create_dealer(dealer(&code, "SH01"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists);
    let mut reviewer = app.reviewer("r").await;
    let e = reviewer
        .create_dealer(dealer(&unique("D-"), "SH01"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    let mut t = terms(0);
    t.labour_rate_per_hour_minor = -1;
    let mut bad = dealer("d 1", "SH01");
    bad.dealer.as_mut().unwrap().terms = Some(t);
    let e = admin.create_dealer(bad).await.unwrap_err();
    assert_eq!(
        testing::bad_request_fields(&e),
        vec![
            "dealer.code",
            "dealer.terms.labour_rate_per_hour_minor",
            "dealer.terms.old_part_return_days",
        ]
    );
    // A category Postgres's JSON could not hold (a NUL, as the API fuzzer sent) is named, not
    // a failure.
    let mut t = terms(10);
    t.standard_labour_minutes.insert("tv\u{0}".into(), 30);
    let mut bad = dealer(&unique("D-"), "SH01");
    bad.dealer.as_mut().unwrap().terms = Some(t);
    let e = admin.create_dealer(bad).await.unwrap_err();
    assert_eq!(
        testing::bad_request_fields(&e),
        vec!["dealer.terms.standard_labour_minutes.tv"]
    );
    let got = admin
        .get_dealer(pb::GetDealerRequest { code: code.clone() })
        .await
        .unwrap()
        .into_inner()
        .dealer
        .unwrap();
    assert_eq!(got.terms.unwrap().parts_margin_bp, 1_000);
    app.stop().await;
}
