//! Telling the customer (and the branch's own system) about each step of the request.
//!
//! When intake handles a customer-facing event ([`templates::CUSTOMER_EVENTS`]) it writes the
//! messages it owes — one per channel: the customer's (SMS or e-mail, in their language) and the
//! branch's webhook when the branch has one — into `notifications`, in the same transaction as
//! the event's timeline entry. A redelivered event finds its messages written (unique per event
//! and channel) and writes nothing. The [`sender`] sends them from that table as from an outbox;
//! the message's id is its Message-ID and idempotency key, so a copy sent again after a crash
//! between sending and recording can be dropped by the receiver.

pub mod channels;
pub mod sender;
pub mod templates;

use std::collections::BTreeMap;
use std::sync::Arc;

use aftersales_platform::clock::Clock;
use aftersales_platform::config::ConfigError;
use chrono::{DateTime, Duration, FixedOffset, NaiveTime, TimeZone, Utc};
use sea_orm::{ConnectionTrait, DbErr};
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::request::ContactChannel;
use crate::store::notifications::{self, Channel, NewMessage, Status};
use crate::store::requests::StoredRequest;

/// `[intake.notify]`.
#[derive(Debug, Clone, Deserialize)]
pub struct NotifySettings {
    /// How often the sender looks for due messages (it is also woken by a moved test clock).
    pub scan_every_ms: u64,
    /// How long a sender holds a message it is sending; a sender that died releases it then.
    pub lease_secs: u64,
    /// Attempts before a message is given up as failed.
    pub max_attempts: u32,
    /// The delay after the first failed attempt, doubling up to `retry_max_secs`.
    pub retry_min_secs: u64,
    pub retry_max_secs: u64,
    /// No SMS in this local window (`HH:MM-HH:MM`, across midnight when the end is earlier);
    /// an SMS due inside it waits for its end. E-mail and webhooks are not held.
    pub quiet_hours: String,
    /// `smtp://host:port` (plain, a local relay) or `smtps://host:port` / `smtp+starttls://…`
    /// (TLS); empty: no e-mail is sent and e-mail messages fail naming this key.
    pub smtp_url: String,
    pub smtp_username: String,
    pub smtp_password: Option<SecretString>,
    /// The From of the e-mails.
    pub email_from: String,
    /// `log` (development: the text goes to the log) or `http` (the provider at `sms_url`).
    pub sms_provider: String,
    pub sms_url: String,
    pub sms_token: Option<SecretString>,
    /// `BRANCH=URL[,BRANCH=URL…]`: the branch's system that hears of every step of its requests.
    pub webhooks: String,
    /// Signs each webhook call (`Aftersales-Signature: t=<unix>,v1=<hex HMAC-SHA256>`).
    pub webhook_secret: Option<SecretString>,
    /// Per call to a provider.
    pub timeout_ms: u64,
    /// Test hook: after the first message is handed to the provider, stop before recording it,
    /// as a crash there would.
    pub crash_after_send: bool,
    #[serde(skip)]
    pub quiet: Option<QuietHours>,
    #[serde(skip)]
    pub webhook_urls: BTreeMap<String, String>,
}

impl NotifySettings {
    pub fn prepare(&mut self) -> Result<(), ConfigError> {
        let key = |k: &str| format!("intake.notify.{k}");
        self.quiet = Some(
            QuietHours::parse(&self.quiet_hours)
                .map_err(|e| ConfigError::new(key("quiet_hours"), e))?,
        );
        for (name, v) in [
            ("scan_every_ms", self.scan_every_ms),
            ("lease_secs", self.lease_secs),
            ("retry_min_secs", self.retry_min_secs),
            ("timeout_ms", self.timeout_ms),
            ("max_attempts", self.max_attempts.into()),
        ] {
            if v == 0 {
                return Err(ConfigError::new(key(name), "must be greater than 0"));
            }
        }
        if self.retry_max_secs < self.retry_min_secs {
            return Err(ConfigError::new(
                key("retry_max_secs"),
                "must not be less than intake.notify.retry_min_secs",
            ));
        }
        if !self.smtp_url.is_empty() {
            channels::Smtp::parse_url(&self.smtp_url)
                .map_err(|e| ConfigError::new(key("smtp_url"), e))?;
        }
        match self.sms_provider.as_str() {
            "log" => {}
            "http" => {
                if !(self.sms_url.starts_with("http://") || self.sms_url.starts_with("https://")) {
                    return Err(ConfigError::new(
                        key("sms_url"),
                        "must be an http(s) URL when sms_provider is http",
                    ));
                }
            }
            other => {
                return Err(ConfigError::new(
                    key("sms_provider"),
                    format!("{other:?} is not one of log, http"),
                ));
            }
        }
        self.webhook_urls.clear();
        for entry in self
            .webhooks
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let Some((branch, url)) = entry.split_once('=') else {
                return Err(ConfigError::new(
                    key("webhooks"),
                    format!("{entry:?} is not BRANCH=URL"),
                ));
            };
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::new(
                    key("webhooks"),
                    format!("{branch}: {url:?} is not an http(s) URL"),
                ));
            }
            let branch = aftersales_platform::ids::BranchCode::parse(branch)
                .map_err(|e| ConfigError::new(key("webhooks"), format!("{branch:?}: {e}")))?;
            self.webhook_urls
                .insert(branch.as_str().to_owned(), url.trim().to_owned());
        }
        if !self.webhook_urls.is_empty() && self.webhook_secret.is_none() {
            return Err(ConfigError::new(
                key("webhook_secret"),
                "is required when webhooks are configured (the branch's system checks the signature)",
            ));
        }
        Ok(())
    }
}

/// A daily local window in which no SMS goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// `HH:MM-HH:MM`; an empty string means none.
    pub fn parse(s: &str) -> Result<QuietHours, String> {
        let none = NaiveTime::MIN;
        if s.trim().is_empty() {
            return Ok(QuietHours {
                start: none,
                end: none,
            });
        }
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("{s:?} is not HH:MM-HH:MM"))?;
        let t = |x: &str| {
            NaiveTime::parse_from_str(x.trim(), "%H:%M").map_err(|_| format!("{x:?} is not HH:MM"))
        };
        Ok(QuietHours {
            start: t(a)?,
            end: t(b)?,
        })
    }

    /// When a message due at `at` may go out: `at` itself outside the window, else the window's
    /// end (the next morning for a window across midnight).
    pub fn release(&self, at: DateTime<Utc>, tz: FixedOffset) -> DateTime<Utc> {
        if self.start == self.end {
            return at;
        }
        let local = at.with_timezone(&tz);
        let time = local.time();
        let inside = if self.start < self.end {
            time >= self.start && time < self.end
        } else {
            time >= self.start || time < self.end
        };
        if !inside {
            return at;
        }
        let mut day = local.date_naive();
        if self.start > self.end && time >= self.start {
            day = day.succ_opt().unwrap_or(day);
        }
        tz.from_local_datetime(&day.and_time(self.end))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(at)
    }
}

/// Writes the messages owed for events; shared by the event handlers.
#[derive(Clone)]
pub struct Notifier {
    pub settings: Arc<NotifySettings>,
    pub tz: FixedOffset,
    pub clock: Clock,
}

/// An event the customer may hear of.
pub struct Event<'a> {
    pub event_id: uuid::Uuid,
    pub routing_key: &'a str,
    pub payload: &'a [u8],
}

impl Notifier {
    pub fn new(settings: NotifySettings, tz: FixedOffset, clock: Clock) -> Self {
        Self {
            settings: Arc::new(settings),
            tz,
            clock,
        }
    }

    /// Writes, in the caller's transaction, the messages `ev` owes about request `r` (none for an
    /// event the customer does not hear of; nothing again for an event already handled).
    pub async fn intend<C: ConnectionTrait>(
        &self,
        conn: &C,
        ev: &Event<'_>,
        r: &StoredRequest,
    ) -> Result<usize, DbErr> {
        let now = self.clock.now();
        let no = r.request_no.as_str();
        let prefs = r.request.notify;
        let Some(text) = templates::render(ev.routing_key, ev.payload, no, prefs.language, self.tz)
        else {
            return Ok(0);
        };
        let customer = &r.request.customer;
        let (channel, recipient) = match prefs.channel {
            ContactChannel::Sms => (Channel::Sms, customer.phone.display.clone()),
            ContactChannel::Email => (Channel::Email, customer.email.clone()),
        };
        let (status, answer) = if prefs.opt_out {
            (Status::Suppressed, "the customer opted out".to_owned())
        } else if recipient.is_empty() {
            (
                Status::Suppressed,
                format!("no {} address", channel.as_str()),
            )
        } else {
            (Status::Queued, String::new())
        };
        let due_at = match channel {
            Channel::Sms => self
                .settings
                .quiet
                .map(|q| q.release(now, self.tz))
                .unwrap_or(now),
            _ => now,
        };
        let base = NewMessage {
            request_no: no.to_owned(),
            event_id: ev.event_id,
            event_type: ev.routing_key.to_owned(),
            channel,
            recipient,
            language: prefs.language.as_str().to_owned(),
            subject: text.subject.clone(),
            body: text.body.clone(),
            status,
            provider_answer: answer,
            created_at: now,
            due_at,
        };
        let mut written = notifications::insert(conn, &base).await?;
        if let Some(url) = self.settings.webhook_urls.get(r.request.branch.as_str()) {
            written += notifications::insert(
                conn,
                &NewMessage {
                    channel: Channel::Webhook,
                    recipient: url.clone(),
                    status: Status::Queued,
                    provider_answer: String::new(),
                    due_at: now,
                    ..base
                },
            )
            .await?;
        }
        Ok(written)
    }

    /// The delay before attempt `attempts + 1` after a failure.
    pub fn retry_after(&self, attempts: u32) -> Duration {
        let s = &self.settings;
        let secs = s
            .retry_min_secs
            .saturating_mul(1u64 << attempts.saturating_sub(1).min(20))
            .min(s.retry_max_secs);
        Duration::seconds(secs as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn an_sms_due_in_the_quiet_hours_waits_for_their_end_even_on_a_friday_night() {
        let q = QuietHours::parse("21:00-08:00").unwrap();
        let tz = FixedOffset::east_opt(8 * 3600).unwrap();
        // Friday 2026-12-04 23:00 local → Saturday 08:00, not Monday.
        assert_eq!(
            q.release(at("2026-12-04T23:00:00+08:00"), tz),
            at("2026-12-05T08:00:00+08:00")
        );
        // 06:30 the same morning → 08:00.
        assert_eq!(
            q.release(at("2026-12-05T06:30:00+08:00"), tz),
            at("2026-12-05T08:00:00+08:00")
        );
        // 20:59 and 08:00 are outside.
        for t in ["2026-12-04T20:59:00+08:00", "2026-12-05T08:00:00+08:00"] {
            assert_eq!(q.release(at(t), tz), at(t));
        }
        let lunch = QuietHours::parse("12:00-13:30").unwrap();
        assert_eq!(
            lunch.release(at("2026-12-04T12:10:00+08:00"), tz),
            at("2026-12-04T13:30:00+08:00")
        );
        let none = QuietHours::parse("").unwrap();
        assert_eq!(
            none.release(at("2026-12-04T23:00:00+08:00"), tz),
            at("2026-12-04T23:00:00+08:00")
        );
        assert!(QuietHours::parse("21-8").is_err());
    }
}
