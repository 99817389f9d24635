//! Messages to the customer and the branch (issue 22), against a real SMTP server and a real HTTP
//! endpoint in the test: one message per customer-facing event and channel, in the customer's
//! language, recorded in the log; a redelivered event sends nothing twice; a crash between
//! sending and recording resends once with the same Message-ID; SMS wait out the quiet hours.

use std::time::Duration;

use aftersales_platform::clock::Clock;
use aftersales_platform::proto::claims::v1 as claims;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::fieldservice::v1 as fieldservice;
use aftersales_platform::proto::intake::v1 as pb;
use aftersales_platform::proto::logistics::v1 as logistics;
use aftersales_platform::testing::mail::{HttpSink, SmtpSink};
use aftersales_platform::testing::{TestService, TestServiceBuilder};
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use intake::app::{App, SENDER_SCAN};
use sha2::Sha256;

use crate::helpers::{Client, TestApp, submission, wrap};

const WAIT: Duration = Duration::from_secs(30);
const HOOK_SECRET: &str = "branch-hook-secret";
const SCAN: &str = SENDER_SCAN;

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    })
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Intake sending e-mail to `smtp`, SMS and webhooks to `http` (when given), quickly.
fn builder(smtp: &SmtpSink, http: Option<&HttpSink>) -> TestServiceBuilder<App> {
    let mut b = TestService::<App>::builder()
        .env("AFTERSALES__INTAKE__NOTIFY__SMTP_URL", smtp.url())
        .env("AFTERSALES__INTAKE__NOTIFY__SCAN_EVERY_MS", "100")
        .env("AFTERSALES__INTAKE__NOTIFY__QUIET_HOURS", "");
    if let Some(h) = http {
        b = b
            .env(
                "AFTERSALES__INTAKE__NOTIFY__WEBHOOKS",
                format!("SH01={}", h.url("/hooks/sh01")),
            )
            .env("AFTERSALES__INTAKE__NOTIFY__WEBHOOK_SECRET", HOOK_SECRET)
            .env("AFTERSALES__INTAKE__NOTIFY__SMS_PROVIDER", "http")
            .env("AFTERSALES__INTAKE__NOTIFY__SMS_URL", h.url("/sms"));
    }
    b
}

/// Submits a request of SH01's customer with these preferences and e-mail address.
async fn submit_with(
    client: &mut Client,
    email: &str,
    prefs: pb::NotificationPreferences,
) -> pb::ServiceRequest {
    let mut s = submission("SH01");
    s.customer.as_mut().unwrap().email = email.into();
    s.notifications = Some(prefs);
    client
        .submit_request(s)
        .await
        .expect("submit")
        .into_inner()
        .request
        .unwrap()
}

fn by_email(language: &str) -> pb::NotificationPreferences {
    pb::NotificationPreferences {
        language: language.into(),
        channel: pb::ContactChannel::Email as i32,
        opt_out: false,
    }
}

async fn log(client: &mut Client, no: &str) -> Vec<pb::Notification> {
    client
        .list_notifications(pb::ListNotificationsRequest {
            request_no: no.into(),
        })
        .await
        .expect("list notifications")
        .into_inner()
        .notifications
}

fn approved(no: &str) -> claims::ClaimApproved {
    claims::ClaimApproved {
        request_no: no.into(),
        branch: "SH01".into(),
        auto_approved: true,
        ..Default::default()
    }
}

fn dispatched(no: &str) -> logistics::ShipmentDispatched {
    logistics::ShipmentDispatched {
        request_no: no.into(),
        branch: "SH01".into(),
        shipment_no: "SH-2612-SH01-000001".into(),
        carrier: "SF Express".into(),
        waybill_no: "SF1234567890".into(),
        ..Default::default()
    }
}

fn scheduled(no: &str) -> fieldservice::WorkOrderScheduled {
    fieldservice::WorkOrderScheduled {
        request_no: no.into(),
        branch: "SH01".into(),
        work_order_no: "WO-2612-SH01-000001".into(),
        technician_id: "T-SH01-001".into(),
        technician_name: "Zhang San".into(),
        appointment: Some(common::TimeRange {
            from: ts(at("2026-12-02T09:00:00+08:00")),
            to: ts(at("2026-12-02T11:00:00+08:00")),
        }),
        ..Default::default()
    }
}

fn verify(secret: &str, signature: &str, body: &[u8]) -> bool {
    let Some((t, v1)) = signature
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes()) == v1
}

async fn wait_sent(app: &TestApp, n: i64) {
    app.svc
        .wait_count(
            "SELECT count(*)::bigint FROM notifications WHERE status IN ('sent', 'delivered')",
            n,
        )
        .await;
}

#[tokio::test]
async fn approved_shipped_and_scheduled_send_one_email_and_one_webhook_call_each_in_the_customers_language()
 {
    // Arrange: an SMTP server and the branch's system, both real, in the test.
    let smtp = SmtpSink::start().await;
    let hook = HttpSink::start().await;
    let app = wrap(builder(&smtp, Some(&hook)).start().await);
    let mut client = app.agent("SH01").await;
    let en = submit_with(&mut client, "li.wei@example.com", by_email("en")).await;
    let zh = submit_with(&mut client, "wang.fang@example.com", by_email("zh-CN")).await;
    let no = en.request_no.clone();
    assert_eq!(en.notifications.as_ref().unwrap().language, "en");

    // Act: three customer-facing steps for the English customer (the shipment delivered twice,
    // as a redelivery would), one for the Chinese customer, and a step the customer does not
    // hear of.
    app.publish("claims-review", &no, "SH01", &approved(&no))
        .await;
    let id = uuid::Uuid::now_v7().to_string();
    app.publish_with_id(&id, "logistics", &no, "SH01", &dispatched(&no))
        .await;
    app.publish_with_id(&id, "logistics", &no, "SH01", &dispatched(&no))
        .await;
    app.publish("field-service", &no, "SH01", &scheduled(&no))
        .await;
    app.publish(
        "warehouse",
        &no,
        "SH01",
        &aftersales_platform::proto::warehouse::v1::ReservationConfirmed {
            request_no: no.clone(),
            branch: "SH01".into(),
            ..Default::default()
        },
    )
    .await;
    app.publish(
        "claims-review",
        &zh.request_no,
        "SH01",
        &approved(&zh.request_no),
    )
    .await;
    wait_sent(&app, 8).await;
    // Every event handled (the duplicate too) and a scan with nothing left: the count is final.
    app.svc
        .wait_count(
            &format!(
                "SELECT count(*)::bigint FROM timeline WHERE request_no = '{no}' AND routing_key <> 'intake.request.submitted'"
            ),
            4,
        )
        .await;
    assert_eq!(app.svc.scan(SCAN).await, 0);

    // Assert: e-mails — exactly four, each once, English for one and Chinese for the other.
    let mails = smtp.mails();
    assert_eq!(mails.len(), 4, "{mails:#?}");
    let to = |who: &str| -> Vec<_> { mails.iter().filter(|m| m.to == [who]).collect() };
    let english = to("li.wei@example.com");
    let mut subjects: Vec<String> = english.iter().map(|m| m.subject()).collect();
    subjects.sort();
    assert_eq!(
        subjects,
        [
            format!("[After-sales] Your appointment is booked ({no})"),
            format!("[After-sales] Your claim is approved ({no})"),
            format!("[After-sales] Your parts are on their way ({no})"),
        ]
    );
    let text_of = |subject: &str| {
        english
            .iter()
            .find(|m| m.subject().contains(subject))
            .map(|m| m.text())
            .unwrap()
    };
    let shipped = text_of("on their way");
    assert!(
        shipped.contains("shipped with SF Express, waybill SF1234567890"),
        "{shipped}"
    );
    let booked = text_of("appointment");
    assert!(
        booked.contains("technician Zhang San will visit you on 2026-12-02 09:00–11:00"),
        "{booked}"
    );
    let chinese = to("wang.fang@example.com");
    assert_eq!(chinese.len(), 1);
    assert_eq!(
        chinese[0].subject(),
        format!("【售后服务】保修审核通过 {}", zh.request_no)
    );
    assert!(
        chinese[0].text().contains("已审核通过"),
        "{}",
        chinese[0].text()
    );

    // The log: one e-mail and one webhook call per event, sent, one attempt each; the
    // Message-IDs are the log's ids.
    let entries = log(&mut client, &no).await;
    assert_eq!(entries.len(), 6, "{entries:#?}");
    for m in &entries {
        assert_eq!(m.attempts, 1, "{m:?}");
        let (channel, status) = (
            pb::NotificationChannel::try_from(m.channel).unwrap(),
            pb::NotificationStatus::try_from(m.status).unwrap(),
        );
        match channel {
            pb::NotificationChannel::Email => {
                assert_eq!(status, pb::NotificationStatus::Sent, "{m:?}");
                assert!(m.provider_answer.starts_with("SMTP 250"), "{m:?}");
                let mail = english
                    .iter()
                    .find(|x| x.message_id() == format!("{}@aftersales.intake", m.message_id))
                    .unwrap_or_else(|| panic!("no e-mail with the id of {m:?}"));
                assert_eq!(mail.subject(), m.subject);
            }
            pb::NotificationChannel::Webhook => {
                assert_eq!(status, pb::NotificationStatus::Delivered, "{m:?}");
                assert_eq!(m.recipient, hook.url("/hooks/sh01"));
            }
            other => panic!("unexpected channel {other:?}"),
        }
    }
    let types: Vec<&str> = entries.iter().map(|m| m.event_type.as_str()).collect();
    for t in [
        "claims.claim.approved",
        "logistics.shipment.dispatched",
        "fieldservice.workorder.scheduled",
    ] {
        assert_eq!(
            types.iter().filter(|x| **x == t).count(),
            2,
            "{t}: {types:?}"
        );
    }

    // The branch's system: four calls (three for one request, one for the other), each signed,
    // with the message id as idempotency key.
    let calls = hook.calls();
    assert_eq!(calls.len(), 4, "{calls:#?}");
    for c in &calls {
        assert_eq!(c.path, "/hooks/sh01");
        assert!(
            verify(HOOK_SECRET, &c.header("aftersales-signature"), &c.body),
            "bad signature on {c:?}"
        );
        assert_eq!(
            c.header("idempotency-key"),
            c.json()["message_id"].as_str().unwrap()
        );
    }
    let waybill = calls
        .iter()
        .find(|c| c.json()["event_type"] == "logistics.shipment.dispatched")
        .unwrap();
    assert!(
        waybill.json()["text"]
            .as_str()
            .unwrap()
            .contains("SF1234567890")
    );

    // The timeline shows the messages after the events.
    let timeline = client
        .get_timeline(pb::GetTimelineRequest {
            request_no: no.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let sent: Vec<&pb::TimelineEntry> = timeline
        .entries
        .iter()
        .filter(|e| e.r#type.starts_with("intake.notification."))
        .collect();
    assert_eq!(sent.len(), 6, "{:#?}", timeline.entries);
    assert!(
        sent.iter()
            .any(|e| e.summary == format!("E-mail to li.wei@example.com sent: [After-sales] Your parts are on their way ({no})")),
        "{sent:#?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_crash_between_sending_and_recording_resends_once_with_the_same_message_id() {
    // Arrange: intake whose sender stops right after handing a message to the SMTP server (the
    // test hook), on the test's clock.
    let smtp = SmtpSink::start().await;
    let clock = Clock::manual(Utc::now());
    let first = builder(&smtp, None)
        .clock(clock.clone())
        .env("AFTERSALES__INTAKE__NOTIFY__CRASH_AFTER_SEND", "true")
        .env("AFTERSALES__INTAKE__NOTIFY__LEASE_SECS", "60")
        .start()
        .await;
    let mut app = wrap(first);
    let mut client = app.agent("SH01").await;
    let r = submit_with(&mut client, "li.wei@example.com", by_email("en")).await;
    let no = r.request_no.clone();

    // Act 1: the approval's e-mail goes out, and the sender "crashes" before recording it.
    app.publish("claims-review", &no, "SH01", &approved(&no))
        .await;
    let mails = smtp.wait_for(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    let running = app.svc.take_running();
    running.stop().await.ok();

    // Act 2: intake starts again on the same database, the lease not yet over: nothing goes.
    let restart = |clock: &Clock| {
        builder(&smtp, None)
            .clock(clock.clone())
            .bus(&app.svc.bus)
            .database_url(&app.svc.database_url())
            .start()
    };
    let second = restart(&clock).await;
    let held = second
        .count("SELECT count(*)::bigint FROM notifications WHERE status = 'queued' AND attempts = 1 AND lease_until IS NOT NULL")
        .await;
    assert_eq!(held, 1, "the message is neither recorded nor lost");
    assert_eq!(second.scan(SCAN).await, 0);
    assert_eq!(smtp.mails().len(), 1);
    // Once the lease passed, the message is sent again — once — with the same Message-ID.
    clock.advance(chrono::Duration::seconds(61));
    second
        .wait_count(
            "SELECT count(*)::bigint FROM notifications WHERE status = 'sent' AND attempts = 2",
            1,
        )
        .await;
    assert_eq!(second.scan(SCAN).await, 0);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "{mails:#?}");
    assert_eq!(mails[0].message_id(), mails[1].message_id());
    let entries = log(&mut client_of(&second).await, &no).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        mails[0].message_id(),
        format!("{}@aftersales.intake", entries[0].message_id)
    );
    second.stop().await;
    app.stop().await;
}

async fn client_of(svc: &TestService<App>) -> Client {
    crate::helpers::client_at(svc.grpc_addr()).await
}

#[tokio::test]
async fn an_sms_due_at_23_00_goes_out_when_the_quiet_hours_end_and_a_refusal_is_retried() {
    // Arrange: Friday 23:00 in Shanghai on the test's clock; SMS through the provider's HTTP API.
    let smtp = SmtpSink::start().await;
    let provider = HttpSink::start().await;
    let clock = Clock::manual(at("2026-12-04T23:00:00+08:00"));
    let app = wrap(
        builder(&smtp, Some(&provider))
            .clock(clock.clone())
            .env("AFTERSALES__INTAKE__NOTIFY__QUIET_HOURS", "21:00-08:00")
            .env("AFTERSALES__INTAKE__NOTIFY__RETRY_MIN_SECS", "60")
            .start()
            .await,
    );
    let mut client = app.agent("SH01").await;
    let sms = submit_with(
        &mut client,
        "",
        pb::NotificationPreferences {
            language: "zh-CN".into(),
            ..Default::default()
        },
    )
    .await;
    let no = sms.request_no.clone();

    // Act: the claim is approved at 23:00.
    app.publish("claims-review", &no, "SH01", &approved(&no))
        .await;
    app.svc
        .wait_count(
            "SELECT count(*)::bigint FROM notifications WHERE channel = 'sms'",
            1,
        )
        .await;

    // Assert: the SMS waits for 08:00 the next morning (Saturday, not Monday); the branch's
    // webhook is not held.
    let sms_of = |l: &[pb::Notification]| {
        l.iter()
            .find(|m| m.channel == pb::NotificationChannel::Sms as i32)
            .cloned()
            .unwrap()
    };
    let queued = sms_of(&log(&mut client, &no).await);
    assert_eq!(queued.status, pb::NotificationStatus::Queued as i32);
    assert_eq!(queued.due_at, ts(at("2026-12-05T08:00:00+08:00")));
    assert_eq!(queued.recipient, "+86 138 0013 8000");
    assert!(queued.body.contains("已审核通过"), "{queued:?}");
    // The webhook goes at once (the sender's own loop); once it is recorded, a scan at 23:00
    // finds nothing due: the SMS waits.
    app.svc
        .wait_count(
            "SELECT count(*)::bigint FROM notifications WHERE channel = 'webhook' AND status = 'delivered'",
            1,
        )
        .await;
    assert_eq!(app.svc.scan(SCAN).await, 0);
    let calls = provider.calls();
    assert_eq!(calls.len(), 1, "only the webhook call at night: {calls:#?}");
    assert_eq!(calls[0].path, "/hooks/sh01");

    clock.set(at("2026-12-05T07:59:00+08:00"));
    assert_eq!(app.svc.scan(SCAN).await, 0);
    // At 08:00 the provider refuses for now (503): the SMS is tried again a minute later.
    provider.answer(503);
    clock.set(at("2026-12-05T08:00:00+08:00"));
    let calls = provider.wait_for(2, WAIT).await;
    assert_eq!(calls.len(), 2);
    app.svc
        .wait_count(
            "SELECT count(*)::bigint FROM notifications WHERE channel = 'sms' AND attempts = 1 AND lease_until IS NULL",
            1,
        )
        .await;
    let retry = sms_of(&log(&mut client, &no).await);
    assert_eq!(retry.status, pb::NotificationStatus::Queued as i32);
    assert_eq!(retry.due_at, ts(at("2026-12-05T08:01:00+08:00")));
    assert!(retry.provider_answer.starts_with("HTTP 503"), "{retry:?}");
    provider.answer(200);
    clock.set(at("2026-12-05T08:01:00+08:00"));
    let calls = provider.wait_for(3, WAIT).await;
    assert_eq!(calls.len(), 3);
    let sms_call = &calls[2];
    assert_eq!(sms_call.path, "/sms");
    assert_eq!(sms_call.json()["to"], "+86 138 0013 8000");
    assert_eq!(sms_call.header("idempotency-key"), retry.message_id);
    assert_eq!(calls[1].header("idempotency-key"), retry.message_id);
    wait_sent(&app, 2).await;
    let sent = sms_of(&log(&mut client, &no).await);
    assert_eq!(sent.status, pb::NotificationStatus::Sent as i32);
    assert_eq!(sent.attempts, 2);
    assert_eq!(sent.sent_at, ts(at("2026-12-05T08:01:00+08:00")));
    assert!(smtp.mails().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn an_opted_out_customer_gets_nothing_and_the_log_says_why() {
    let smtp = SmtpSink::start().await;
    let app = wrap(builder(&smtp, None).start().await);
    let mut client = app.agent("SH01").await;
    let r = submit_with(
        &mut client,
        "li.wei@example.com",
        pb::NotificationPreferences {
            opt_out: true,
            ..by_email("en")
        },
    )
    .await;
    let no = r.request_no.clone();
    app.publish("claims-review", &no, "SH01", &approved(&no))
        .await;
    app.svc
        .wait_count("SELECT count(*)::bigint FROM notifications", 1)
        .await;
    assert_eq!(app.svc.scan(SCAN).await, 0);
    let l = log(&mut client, &no).await;
    assert_eq!(l.len(), 1);
    assert_eq!(l[0].status, pb::NotificationStatus::Suppressed as i32);
    assert_eq!(l[0].provider_answer, "the customer opted out");
    assert_eq!(l[0].attempts, 0);
    assert!(smtp.mails().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn bad_preferences_are_named_and_nothing_is_stored() {
    let smtp = SmtpSink::start().await;
    let app = wrap(builder(&smtp, None).start().await);
    let mut client = app.agent("SH01").await;
    for (prefs, email, field, words) in [
        (
            pb::NotificationPreferences {
                language: "fr".into(),
                ..Default::default()
            },
            "",
            "notifications.language",
            "not one of zh-CN, en",
        ),
        (
            by_email("en"),
            "",
            "notifications.channel",
            "email needs customer.email",
        ),
        (
            pb::NotificationPreferences {
                channel: 9,
                ..Default::default()
            },
            "",
            "notifications.channel",
            "not one of sms, email",
        ),
    ] {
        let mut s = submission("SH01");
        s.customer.as_mut().unwrap().email = email.into();
        s.notifications = Some(prefs);
        let err = client.submit_request(s).await.unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        let v = crate::helpers::violations(&err);
        assert!(
            v.get(field).is_some_and(|d| d.contains(words)),
            "{field}: {v:?}"
        );
    }
    assert_eq!(app.count("SELECT count(*)::bigint FROM requests").await, 0);
    // The other branches' agents do not see SH01's log.
    let r = submit_with(&mut client, "li.wei@example.com", by_email("en")).await;
    let mut other = app.agent("BJ02").await;
    let err = other
        .list_notifications(pb::ListNotificationsRequest {
            request_no: r.request_no.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    app.stop().await;
}
