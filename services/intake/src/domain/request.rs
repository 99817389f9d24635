//! A service request as intake accepts it. Every field is parsed once, at the edge, into these
//! types; a bad field becomes a [`Violation`] naming it, and all of them are reported together.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::tracking::BranchCode;

macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The lower-case wire and storage name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }
            /// "a, b or c", for error messages.
            pub fn choices() -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                names.join(", ")
            }
        }
    };
}

wire_enum!(
    /// How the request reached us.
    Channel { Hotline = "hotline", Web = "web", Email = "email", Branch = "branch" }
);
wire_enum!(
    RequestKind { Replacement = "replacement", Repair = "repair", Return = "return", Exchange = "exchange", Installation = "installation" }
);
wire_enum!(Urgency { Low = "low", Normal = "normal", High = "high", Critical = "critical" });
wire_enum!(
    /// Decides the arrival deadline and the delivery method.
    Region { Urban = "urban", Suburban = "suburban", Remote = "remote" }
);

pub use aftersales_platform::validate::{Violations, optional_text, required_text};

/// Upper bounds that keep one request small enough to store, index and show.
pub mod limits {
    pub const NAME: usize = 200;
    pub const ADDRESS: usize = 500;
    pub const EMAIL: usize = 254;
    pub const CATEGORY: usize = 64;
    pub const MODEL: usize = 100;
    pub const SERIAL: usize = 64;
    pub const DOCUMENT_NO: usize = 64;
    pub const FAULT: usize = 4000;
    pub const PHOTOS: usize = 20;
    pub const PHOTO_URL: usize = 2048;
    pub const PARTS: usize = 50;
    pub const QUANTITY: u32 = 999;
    pub const IDEMPOTENCY_KEY: usize = 128;
    /// The whole message, encoded.
    pub const MESSAGE_BYTES: usize = 4 * 1024 * 1024;
}

/// A phone number as the customer gave it, with its digits for searching.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    pub display: String,
    pub digits: String,
}

impl PhoneNumber {
    /// The mesh's one phone rule ([`aftersales_platform::ids::Phone`]).
    pub fn parse(s: &str) -> Result<Self, String> {
        let p = aftersales_platform::ids::Phone::parse(s)?;
        Ok(Self {
            display: p.as_str().to_owned(),
            digits: p.digits().to_owned(),
        })
    }
}

pub fn email(s: &str) -> Result<String, String> {
    let t = optional_text(s, limits::EMAIL)?;
    if !t.is_empty() {
        let (local, domain) = t.split_once('@').ok_or("must be an e-mail address")?;
        if local.is_empty() || !domain.contains('.') || t.contains(char::is_whitespace) {
            return Err("must be an e-mail address".into());
        }
    }
    Ok(t)
}

/// An ISO date, optional; never in the future.
pub fn optional_date(s: &str, today: NaiveDate) -> Result<Option<NaiveDate>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .map_err(|_| "must be a date YYYY-MM-DD".to_owned())?;
    if d > today {
        return Err(format!("must not be in the future (today is {today})"));
    }
    Ok(Some(d))
}

/// A part number, by the mesh's one rule ([`aftersales_platform::ids::PartNo`]).
pub fn part_no(s: &str) -> Result<String, String> {
    aftersales_platform::ids::PartNo::parse(s).map(|p| p.into_string())
}

/// A serial number, IMEI or VIN, by the mesh's one rule ([`aftersales_platform::ids::Serial`]).
pub fn serial(s: &str) -> Result<String, String> {
    aftersales_platform::ids::Serial::parse(s).map(|p| p.into_string())
}

pub fn category(s: &str) -> Result<String, String> {
    let t = required_text(s, limits::CATEGORY)?.to_lowercase();
    if !t
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
    {
        return Err("must be letters, digits, spaces, '-' or '_'".into());
    }
    Ok(t)
}

pub fn photo_url(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.len() > limits::PHOTO_URL {
        return Err(format!("must be at most {} characters", limits::PHOTO_URL));
    }
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .ok_or("must be an http(s) URL")?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err("must be an http(s) URL".into());
    }
    Ok(t.to_owned())
}

pub fn idempotency_key(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(
            "is required (a UUID is fine); a retry with the same key returns the same request"
                .into(),
        );
    }
    if t.len() > limits::IDEMPOTENCY_KEY
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
    {
        return Err(format!(
            "must be at most {} of A-Z a-z 0-9 - _ : .",
            limits::IDEMPOTENCY_KEY
        ));
    }
    Ok(t.to_owned())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    pub phone: PhoneNumber,
    pub address: String,
    pub region: Region,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub category: String,
    pub model: String,
    pub serial: String,
    pub purchase_date: Option<NaiveDate>,
    pub invoice_no: String,
    pub invoice_date: Option<NaiveDate>,
    pub receipt_date: Option<NaiveDate>,
    pub factory_date: Option<NaiveDate>,
    pub service_contract_no: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartLine {
    pub part_no: String,
    pub quantity: u32,
}

/// A valid request, ready to be numbered and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRequest {
    pub idempotency_key: String,
    pub branch: BranchCode,
    pub channel: Channel,
    pub kind: RequestKind,
    pub urgency: Urgency,
    pub customer: Customer,
    pub product: Product,
    pub fault_description: String,
    pub photos: Vec<String>,
    pub parts: Vec<PartLine>,
    pub misuse_suspected: bool,
    /// How the customer wants to be told (absent from the stored fingerprint when default, so a
    /// request submitted before preferences existed replays as it was).
    #[serde(default, skip_serializing_if = "NotifyPrefs::is_default")]
    pub notify: NotifyPrefs,
}

/// The language of the customer's messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Language {
    #[default]
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Language {
    pub const ALL: &[Language] = &[Language::ZhCn, Language::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Language::ZhCn => "zh-CN",
            Language::En => "en",
        }
    }

    /// A BCP 47 tag as given (`zh`, `zh-Hans-CN`, `en-GB` …), matched on its language.
    pub fn parse(s: &str) -> Option<Language> {
        let lang = s.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match lang.as_str() {
            "zh" => Some(Language::ZhCn),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

/// The customer's channel for messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContactChannel {
    #[default]
    Sms,
    Email,
}

impl ContactChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactChannel::Sms => "sms",
            ContactChannel::Email => "email",
        }
    }
}

/// How the customer is told about each step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NotifyPrefs {
    pub language: Language,
    pub channel: ContactChannel,
    pub opt_out: bool,
}

impl NotifyPrefs {
    pub fn is_default(&self) -> bool {
        *self == NotifyPrefs::default()
    }
}

/// Rules across fields, checked after each field parsed on its own.
pub fn cross_field_rules(
    v: &mut Violations,
    kind: Option<RequestKind>,
    product: &Product,
    fault_description: &str,
    parts: &[PartLine],
) {
    if let (Some(f), Some(p)) = (product.factory_date, product.purchase_date)
        && f > p
    {
        v.add(
            "product.factory_date",
            "must not be after product.purchase_date",
        );
    }
    if let (Some(p), Some(i)) = (product.purchase_date, product.invoice_date)
        && i < p
    {
        v.add(
            "product.invoice_date",
            "must not be before product.purchase_date",
        );
    }
    if product.invoice_date.is_some() && product.invoice_no.is_empty() {
        v.add(
            "product.invoice_no",
            "is required when product.invoice_date is given",
        );
    }
    if !product.invoice_no.is_empty() && product.invoice_date.is_none() {
        v.add(
            "product.invoice_date",
            "is required when product.invoice_no is given",
        );
    }
    if kind != Some(RequestKind::Installation) && fault_description.is_empty() {
        v.add(
            "fault_description",
            "is required (except for installations)",
        );
    }
    if kind == Some(RequestKind::Replacement) && parts.is_empty() {
        v.add("parts", "a replacement needs at least one part line");
    }
    let mut seen = HashSet::new();
    for (i, p) in parts.iter().enumerate() {
        if !seen.insert(&p.part_no) {
            v.add(
                format!("parts[{i}].part_no"),
                format!("{} is listed twice; add the quantities", p.part_no),
            );
        }
    }
}

impl NewRequest {
    /// A stable fingerprint of the content (without the idempotency key): the same key with a
    /// different body is refused, the same body is replayed.
    pub fn fingerprint(&self) -> String {
        let mut copy = self.clone();
        copy.idempotency_key.clear();
        let text = serde_json::to_string(&copy).unwrap_or_default();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in text.as_bytes() {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phone_numbers_accept_the_usual_punctuation_and_refuse_letters() {
        assert_eq!(
            PhoneNumber::parse("+86 138 0013 8000").unwrap().digits,
            "8613800138000"
        );
        assert_eq!(
            PhoneNumber::parse("(021) 5555-0100").unwrap().digits,
            "02155550100"
        );
        assert!(PhoneNumber::parse("call me maybe").is_err());
        assert!(PhoneNumber::parse("12 3").is_err());
        assert!(PhoneNumber::parse("86+138001380").is_err());
    }

    #[test]
    fn dates_must_be_iso_and_not_in_the_future() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(optional_date("", today).unwrap(), None);
        assert!(optional_date("2026-11-22", today).unwrap().is_some());
        assert!(
            optional_date("2026-11-23", today)
                .unwrap_err()
                .contains("future")
        );
        assert!(optional_date("22/11/2026", today).is_err());
    }

    #[test]
    fn part_numbers_follow_the_mesh_rule_and_are_upper_cased() {
        assert_eq!(part_no("PWR-55-01").unwrap(), "PWR-55-01");
        assert_eq!(part_no(" pwr-55-01 ").unwrap(), "PWR-55-01");
        assert!(part_no("PWR 55").is_err());
        assert!(part_no("").is_err());
    }

    #[test]
    fn languages_match_on_the_language_of_the_tag() {
        assert_eq!(Language::parse("zh-CN"), Some(Language::ZhCn));
        assert_eq!(Language::parse("zh-Hans-CN"), Some(Language::ZhCn));
        assert_eq!(Language::parse("EN_gb"), Some(Language::En));
        assert_eq!(Language::parse("fr"), None);
        assert_eq!(Language::parse(""), None);
        for l in Language::ALL {
            assert_eq!(Language::parse(l.as_str()), Some(*l));
        }
    }

    #[test]
    fn default_preferences_leave_the_fingerprint_as_it_was() {
        let v: NotifyPrefs = serde_json::from_str("{}").unwrap();
        assert!(v.is_default());
        let json = serde_json::to_value(NotifyPrefs {
            language: Language::En,
            channel: ContactChannel::Email,
            opt_out: true,
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"language": "en", "channel": "email", "opt_out": true})
        );
    }

    #[test]
    fn enums_round_trip_their_wire_names() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        assert_eq!(RequestKind::parse("teleport"), None);
        assert_eq!(Urgency::choices(), "low, normal, high, critical");
    }

    proptest! {
        #[test]
        fn phone_parsing_never_panics_and_keeps_only_digits(s in "\\PC{0,40}") {
            if let Ok(p) = PhoneNumber::parse(&s) {
                prop_assert!(p.digits.chars().all(|c| c.is_ascii_digit()));
            }
        }
    }
}
