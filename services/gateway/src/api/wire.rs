//! The JSON shapes of DESIGN §8 and their translation to and from the protos: `snake_case`
//! fields, lower-case enumeration strings, RFC 3339 instants.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as intake;
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

/// A lower-case wire enumeration ↔ a proto enumeration.
macro_rules! wire_enum {
    ($name:ident, $proto:ty, { $($variant:ident = $text:literal => $pv:ident),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }
        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $text),+ } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($text => Some($name::$variant),)+ _ => None } }
            pub fn to_proto(self) -> i32 { match self { $($name::$variant => <$proto>::$pv as i32),+ } }
            /// The wire text of a proto value; empty for UNSPECIFIED or an unknown number.
            pub fn text_of(v: i32) -> &'static str {
                match <$proto>::try_from(v) { $(Ok(<$proto>::$pv) => $text,)+ _ => "" }
            }
            pub fn choices() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join("|")
            }
        }
    };
}

wire_enum!(Channel, common::Channel, {
    Hotline = "hotline" => Hotline, Web = "web" => Web, Email = "email" => Email, Branch = "branch" => Branch,
});
wire_enum!(Kind, common::RequestKind, {
    Replacement = "replacement" => Replacement, Repair = "repair" => Repair, Return = "return" => Return,
    Exchange = "exchange" => Exchange, Installation = "installation" => Installation,
});
wire_enum!(Urgency, common::Urgency, {
    Low = "low" => Low, Normal = "normal" => Normal, High = "high" => High, Critical = "critical" => Critical,
});
wire_enum!(Region, common::Region, {
    Urban = "urban" => Urban, Suburban = "suburban" => Suburban, Remote = "remote" => Remote,
});
wire_enum!(Status, intake::RequestStatus, {
    Submitted = "submitted" => Submitted, UnderReview = "under_review" => UnderReview,
    Approved = "approved" => Approved, Rejected = "rejected" => Rejected, Sourcing = "sourcing" => Sourcing,
    Shipped = "shipped" => Shipped, Delivered = "delivered" => Delivered, InService = "in_service" => InService,
    Completed = "completed" => Completed, Closed = "closed" => Closed, Cancelled = "cancelled" => Cancelled,
});
wire_enum!(Coverage, common::Coverage, {
    Free = "free" => Free, Paid = "paid" => Paid, Contract = "contract" => Contract,
});

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    pub name: String,
    pub phone: String,
    pub address: String,
    pub region: Option<Region>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub email: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Product {
    pub category: String,
    pub model: String,
    pub serial: String,
    pub purchase_date: String,
    pub invoice_no: String,
    pub invoice_date: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub receipt_date: String,
    pub factory_date: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service_contract_no: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PartLine {
    pub part_no: String,
    pub quantity: u32,
}

/// `POST /v1/requests`. Every field may be absent here; intake names each one that is missing
/// or wrong in one answer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CreateRequest {
    pub branch: String,
    pub channel: Option<Channel>,
    pub kind: Option<Kind>,
    pub urgency: Option<Urgency>,
    pub customer: Option<Customer>,
    pub product: Option<Product>,
    pub fault_description: String,
    pub photos: Vec<String>,
    pub parts: Vec<PartLine>,
    pub misuse_suspected: bool,
}

impl CreateRequest {
    pub fn into_proto(self, idempotency_key: String) -> intake::SubmitRequestRequest {
        intake::SubmitRequestRequest {
            idempotency_key,
            branch: self.branch,
            channel: self.channel.map(Channel::to_proto).unwrap_or(0),
            kind: self.kind.map(Kind::to_proto).unwrap_or(0),
            urgency: self.urgency.map(Urgency::to_proto).unwrap_or(0),
            customer: self.customer.map(|c| common::Customer {
                name: c.name,
                phone: c.phone,
                address: c.address,
                region: c.region.map(Region::to_proto).unwrap_or(0),
                email: c.email,
            }),
            product: self.product.map(|p| common::Product {
                category: p.category,
                model: p.model,
                serial: p.serial,
                purchase_date: p.purchase_date,
                invoice_no: p.invoice_no,
                invoice_date: p.invoice_date,
                receipt_date: p.receipt_date,
                factory_date: p.factory_date,
                service_contract_no: p.service_contract_no,
            }),
            fault_description: self.fault_description,
            photos: self.photos,
            parts: self
                .parts
                .into_iter()
                .map(|p| common::PartLine {
                    part_no: p.part_no,
                    quantity: p.quantity,
                })
                .collect(),
            misuse_suspected: self.misuse_suspected,
        }
    }
}

/// A request as the branches see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Request {
    pub request_no: String,
    pub status: String,
    pub branch: String,
    pub channel: String,
    pub kind: String,
    pub urgency: String,
    pub customer: Option<CustomerOut>,
    pub product: Option<Product>,
    pub fault_description: String,
    pub photos: Vec<String>,
    pub parts: Vec<PartLine>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub status_reason: String,
    pub submitted_by: String,
    pub misuse_suspected: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomerOut {
    pub name: String,
    pub phone: String,
    pub address: String,
    pub region: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub email: String,
}

impl From<intake::ServiceRequest> for Request {
    fn from(r: intake::ServiceRequest) -> Self {
        Request {
            request_no: r.request_no,
            status: Status::text_of(r.status).to_owned(),
            branch: r.branch,
            channel: Channel::text_of(r.channel).to_owned(),
            kind: Kind::text_of(r.kind).to_owned(),
            urgency: Urgency::text_of(r.urgency).to_owned(),
            customer: r.customer.map(|c| CustomerOut {
                name: c.name,
                phone: c.phone,
                address: c.address,
                region: Region::text_of(c.region).to_owned(),
                email: c.email,
            }),
            product: r.product.map(|p| Product {
                category: p.category,
                model: p.model,
                serial: p.serial,
                purchase_date: p.purchase_date,
                invoice_no: p.invoice_no,
                invoice_date: p.invoice_date,
                receipt_date: p.receipt_date,
                factory_date: p.factory_date,
                service_contract_no: p.service_contract_no,
            }),
            fault_description: r.fault_description,
            photos: r.photos,
            parts: r
                .parts
                .into_iter()
                .map(|p| PartLine {
                    part_no: p.part_no,
                    quantity: p.quantity,
                })
                .collect(),
            created_at: r.created_at.as_ref().and_then(rfc3339),
            updated_at: r.updated_at.as_ref().and_then(rfc3339),
            status_reason: r.status_reason,
            submitted_by: r.submitted_by,
            misuse_suspected: r.misuse_suspected,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RequestList {
    pub items: Vec<Request>,
    pub next_page_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TimelineEvent {
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: Option<String>,
    pub producer: String,
    pub summary: String,
    pub status_after: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Timeline {
    pub request_no: String,
    pub status: String,
    pub events: Vec<TimelineEvent>,
}

impl From<intake::GetTimelineResponse> for Timeline {
    fn from(t: intake::GetTimelineResponse) -> Self {
        Timeline {
            request_no: t.request_no,
            status: Status::text_of(t.status).to_owned(),
            events: t
                .entries
                .into_iter()
                .map(|e| TimelineEvent {
                    event_id: e.event_id,
                    kind: e.r#type,
                    at: e.at.as_ref().and_then(rfc3339),
                    producer: e.producer,
                    summary: e.summary,
                    status_after: Status::text_of(e.status_after).to_owned(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CancelBody {
    pub reason: String,
}

/// Query of `GET /v1/requests`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    /// Comma-separated statuses.
    pub status: Option<String>,
    pub page_token: Option<String>,
    pub page_size: Option<String>,
    pub branch: Option<String>,
    pub customer_phone: Option<String>,
}

impl ListQuery {
    pub fn into_proto(self) -> Result<intake::ListRequestsRequest, Problem> {
        let mut statuses = Vec::new();
        for s in self
            .status
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let st = Status::parse(s).ok_or_else(|| {
                Problem::field(
                    "status",
                    format!("{s:?} is not one of {}", Status::choices()),
                )
            })?;
            statuses.push(st.to_proto());
        }
        let page_size = match self.page_size.as_deref() {
            None | Some("") => 0,
            Some(n) => n
                .parse::<u32>()
                .map_err(|_| Problem::field("page_size", "must be a whole number"))?,
        };
        Ok(intake::ListRequestsRequest {
            branch: self.branch.unwrap_or_default(),
            statuses,
            customer_phone: self.customer_phone.unwrap_or_default(),
            created: None,
            page_size,
            page_token: self.page_token.unwrap_or_default(),
        })
    }
}

/// RFC 3339 in UTC, or `None` for an out-of-range value.
pub fn rfc3339(t: &prost_types::Timestamp) -> Option<String> {
    chrono::DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_enumeration_round_trips_through_its_wire_text() {
        for s in Status::ALL {
            assert_eq!(Status::text_of(s.to_proto()), s.as_str());
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Status::text_of(0), "");
        assert_eq!(Status::UnderReview.as_str(), "under_review");
    }

    #[test]
    fn the_design_example_body_decodes() {
        let body = br#"{ "branch": "SH01", "channel": "hotline", "kind": "replacement", "urgency": "normal",
          "customer": { "name": "Li", "phone": "+86 138 0013 8000", "address": "x", "region": "urban" },
          "product":  { "category": "television", "model": "X55", "serial": "SN123",
                        "purchase_date": "2026-10-02", "invoice_no": "INV-9", "invoice_date": "2026-10-02",
                        "factory_date": "2026-08-15" },
          "fault_description": "no picture", "photos": ["https://x/1.jpg"],
          "parts": [ { "part_no": "PWR-55-01", "quantity": 1 } ] }"#;
        let c: CreateRequest = crate::extract::parse_json(body).unwrap();
        let p = c.into_proto("k".into());
        assert_eq!(p.channel, common::Channel::Hotline as i32);
        assert_eq!(p.customer.unwrap().region, common::Region::Urban as i32);
    }

    #[test]
    fn an_unknown_enumeration_value_names_its_field() {
        let e = crate::extract::parse_json::<CreateRequest>(br#"{"customer":{"region":"mars"}}"#)
            .unwrap_err();
        assert_eq!(e.violations[0].field, "customer.region");
    }

    #[test]
    fn an_unknown_status_filter_is_a_400_naming_status() {
        let q = ListQuery {
            status: Some("submitted,lost".into()),
            ..Default::default()
        };
        assert_eq!(q.into_proto().unwrap_err().violations[0].field, "status");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::extract::parse_json;

    proptest! {
        #[test]
        fn any_bytes_decode_or_answer_400_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Err(p) = parse_json::<CreateRequest>(&bytes) {
                prop_assert_eq!(p.status, 400);
                prop_assert_eq!(p.violations.len(), 1);
            }
        }

        #[test]
        fn any_json_value_in_any_field_decodes_or_names_that_field(
            field in prop::sample::select(vec!["branch", "channel", "kind", "urgency", "customer",
                "product", "fault_description", "photos", "parts", "misuse_suspected"]),
            value in prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                ".{0,20}".prop_map(serde_json::Value::from),
                Just(serde_json::json!([1, "x"])),
                Just(serde_json::json!({"a": 1})),
            ],
        ) {
            let mut body = serde_json::json!({"branch": "SH01", "channel": "web"});
            body[field] = value;
            if let Err(p) = parse_json::<CreateRequest>(body.to_string().as_bytes()) {
                prop_assert_eq!(p.status, 400);
                prop_assert!(p.violations[0].field.starts_with(field), "{} vs {}", p.violations[0].field, field);
            } else if let Ok(c) = parse_json::<CreateRequest>(body.to_string().as_bytes()) {
                let _ = c.into_proto("k".into());
            }
        }
    }
}
