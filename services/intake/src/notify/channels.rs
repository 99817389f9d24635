//! The ways a message leaves: e-mail over SMTP, the branch's webhook (signed), SMS through a
//! provider adapter (`log` for development, `http` for a provider's API). Each answers with what
//! the provider said; the sender records it.

use std::time::Duration;

use aftersales_platform::http_client;
use hmac::{Hmac, Mac};
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use super::NotifySettings;
use crate::store::notifications::{Channel, Message, Status};

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Taken: `Sent` (handed on for delivery) or `Delivered` (the receiver has it).
    Accepted { status: Status, answer: String },
    /// Not taken this time (no answer, a temporary refusal): try again later.
    Retry(String),
    /// Refused for good (a bad address, a permanent SMTP error, a 4xx).
    Refused(String),
}

/// Every channel, configured.
pub struct Channels {
    smtp: Option<Smtp>,
    sms: Sms,
    webhook_secret: Option<SecretString>,
    timeout: Duration,
}

impl Channels {
    pub fn new(s: &NotifySettings) -> anyhow::Result<Channels> {
        let timeout = Duration::from_millis(s.timeout_ms);
        let smtp = if s.smtp_url.is_empty() {
            None
        } else {
            Some(Smtp::new(s, timeout)?)
        };
        let sms = match s.sms_provider.as_str() {
            "http" => Sms::Http {
                url: s.sms_url.clone(),
                token: s.sms_token.clone(),
            },
            _ => Sms::Log,
        };
        Ok(Channels {
            smtp,
            sms,
            webhook_secret: s.webhook_secret.clone(),
            timeout,
        })
    }

    pub async fn send(&self, m: &Message) -> Outcome {
        match Channel::parse(&m.channel) {
            Some(Channel::Email) => match &self.smtp {
                Some(smtp) => smtp.send(m).await,
                None => Outcome::Refused(
                    "no SMTP server configured (intake.notify.smtp_url)".to_owned(),
                ),
            },
            Some(Channel::Sms) => self.sms.send(m, self.timeout).await,
            Some(Channel::Webhook) => self.webhook(m).await,
            None => Outcome::Refused(format!("unknown channel {:?}", m.channel)),
        }
    }

    async fn webhook(&self, m: &Message) -> Outcome {
        let Some(secret) = &self.webhook_secret else {
            return Outcome::Refused("no intake.notify.webhook_secret".to_owned());
        };
        let body = serde_json::json!({
            "message_id": m.message_id,
            "event_id": m.event_id,
            "event_type": m.event_type,
            "request_no": m.request_no,
            "language": m.language,
            "subject": m.subject,
            "text": m.body,
            "created_at": m.created_at.to_rfc3339(),
        })
        .to_string();
        let t = chrono::Utc::now().timestamp();
        let Some(v1) = sign(secret, t, body.as_bytes()) else {
            return Outcome::Refused(
                "intake.notify.webhook_secret is not a usable HMAC key".into(),
            );
        };
        let signature = format!("t={t},v1={v1}");
        let id = m.message_id.to_string();
        let headers = [
            ("content-type", "application/json"),
            ("aftersales-signature", signature.as_str()),
            ("idempotency-key", id.as_str()),
        ];
        let answer =
            http_client::post(&m.recipient, &headers, body.into_bytes(), self.timeout).await;
        http_outcome(answer, Status::Delivered)
    }
}

/// `hex(HMAC-SHA256(secret, "<t>.<body>"))`: what a branch's system recomputes to trust a call
/// (and refuses when `t` is too old, against replays).
pub fn sign(secret: &SecretString, t: i64, body: &[u8]) -> Option<String> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).ok()?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(hex::encode(mac.finalize().into_bytes()))
}

/// A provider's HTTP answer: 2xx taken; 408, 429 and 5xx (or no answer) tried again; any other
/// status refused for good.
fn http_outcome(answer: anyhow::Result<http_client::Answer>, taken: Status) -> Outcome {
    match answer {
        Ok(a) => {
            let text = format!(
                "HTTP {} {}",
                a.status.as_u16(),
                String::from_utf8_lossy(&a.body[..a.body.len().min(200)]).trim()
            );
            let text = text.trim().to_owned();
            if a.status.is_success() {
                Outcome::Accepted {
                    status: taken,
                    answer: text,
                }
            } else if a.status.is_server_error() || matches!(a.status.as_u16(), 408 | 429) {
                Outcome::Retry(text)
            } else {
                Outcome::Refused(text)
            }
        }
        Err(e) => Outcome::Retry(format!("{e:#}")),
    }
}

/// E-mail through an SMTP server.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl Smtp {
    /// Checks `smtp://host:port`, `smtps://…` or `smtp://…?tls=required` (STARTTLS).
    pub fn parse_url(url: &str) -> Result<(), String> {
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map(|_| ())
            .map_err(|e| format!("{url:?}: {e}"))
    }

    fn new(s: &NotifySettings, timeout: Duration) -> anyhow::Result<Smtp> {
        let mut b =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(&s.smtp_url)?.timeout(Some(timeout));
        if let Some(password) = &s.smtp_password {
            b = b.credentials(Credentials::new(
                s.smtp_username.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        let from = s
            .email_from
            .parse()
            .map_err(|e| anyhow::anyhow!("intake.notify.email_from: {e}"))?;
        Ok(Smtp {
            transport: b.build(),
            from,
        })
    }

    async fn send(&self, m: &Message) -> Outcome {
        let to = match m.recipient.parse::<lettre::message::Mailbox>() {
            Ok(to) => to,
            Err(e) => return Outcome::Refused(format!("recipient {:?}: {e}", m.recipient)),
        };
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(m.subject.clone())
            // The same Message-ID on every attempt: a copy sent again after a crash between
            // sending and recording is recognisably the same message.
            .message_id(Some(format!("<{}@aftersales.intake>", m.message_id)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone());
        let email = match email {
            Ok(e) => e,
            Err(e) => return Outcome::Refused(format!("message: {e}")),
        };
        match self.transport.send(email).await {
            Ok(r) => Outcome::Accepted {
                status: Status::Sent,
                answer: format!(
                    "SMTP {} {}",
                    r.code(),
                    r.message().collect::<Vec<_>>().join(" ")
                )
                .trim()
                .to_owned(),
            },
            Err(e) if e.is_permanent() => Outcome::Refused(format!("SMTP: {e}")),
            Err(e) => Outcome::Retry(format!("SMTP: {e}")),
        }
    }
}

/// The SMS provider adapter.
enum Sms {
    /// Development: the text goes to intake's log.
    Log,
    /// A provider's HTTP API: `POST {to, text, message_id}` with a bearer token; the message id
    /// is also the `Idempotency-Key`.
    Http {
        url: String,
        token: Option<SecretString>,
    },
}

impl Sms {
    async fn send(&self, m: &Message, timeout: Duration) -> Outcome {
        match self {
            Sms::Log => {
                tracing::info!(
                    message_id = %m.message_id,
                    to = %m.recipient,
                    request_no = %m.request_no,
                    text = %m.body,
                    "SMS (log provider)"
                );
                Outcome::Accepted {
                    status: Status::Sent,
                    answer: "log provider: written to intake's log".to_owned(),
                }
            }
            Sms::Http { url, token } => {
                let body = serde_json::json!({
                    "to": m.recipient,
                    "text": m.body,
                    "message_id": m.message_id,
                })
                .to_string();
                let id = m.message_id.to_string();
                let auth = token
                    .as_ref()
                    .map(|t| format!("Bearer {}", t.expose_secret()));
                let mut headers = vec![
                    ("content-type", "application/json"),
                    ("idempotency-key", id.as_str()),
                ];
                if let Some(a) = &auth {
                    headers.push(("authorization", a.as_str()));
                }
                http_outcome(
                    http_client::post(url, &headers, body.into_bytes(), timeout).await,
                    Status::Sent,
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_time_dot_body() {
        let secret = SecretString::from("s3cret");
        // Recomputed independently: printf '1764547200.{"a":1}' | openssl dgst -sha256 -hmac s3cret
        let sig = sign(&secret, 1_764_547_200, br#"{"a":1}"#).unwrap();
        assert_eq!(
            sig,
            "78583f9c7ac099b2c833b58f7323851695d0898535df9649085e882928df019b"
        );
        assert_ne!(sig, sign(&secret, 1_764_547_201, br#"{"a":1}"#).unwrap());
        assert_ne!(
            sig,
            sign(&SecretString::from("other"), 1_764_547_200, br#"{"a":1}"#).unwrap()
        );
    }

    #[test]
    fn http_answers_are_taken_retried_or_refused() {
        let a = |code: u16| {
            Ok(http_client::Answer {
                status: http::StatusCode::from_u16(code).unwrap(),
                body: b"ok".to_vec(),
            })
        };
        assert!(matches!(
            http_outcome(a(202), Status::Sent),
            Outcome::Accepted { .. }
        ));
        assert!(matches!(
            http_outcome(a(503), Status::Sent),
            Outcome::Retry(_)
        ));
        assert!(matches!(
            http_outcome(a(429), Status::Sent),
            Outcome::Retry(_)
        ));
        assert!(matches!(
            http_outcome(a(400), Status::Sent),
            Outcome::Refused(_)
        ));
        assert!(matches!(
            http_outcome(Err(anyhow::anyhow!("refused")), Status::Sent),
            Outcome::Retry(_)
        ));
    }
}
