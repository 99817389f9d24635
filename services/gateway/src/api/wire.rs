//! The JSON shapes of DESIGN §8 and their translation to and from the protos: `snake_case`
//! fields, lower-case enumeration strings, RFC 3339 instants.

use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as intake;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[allow(unused_imports)] // named by the schema attributes
use crate::api::schema::{
    BranchCode, Date, PartNo, Phone, PhotoUrl, RequestNo as RequestNoSchema, Serial,
};
use crate::problem::Problem;

/// A lower-case wire enumeration ↔ a proto enumeration.
macro_rules! wire_enum {
    ($name:ident, $proto:ty, { $($variant:ident = $text:tt => $pv:ident),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
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

pub(crate) use wire_enum;

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
wire_enum!(ContactChannel, intake::ContactChannel, {
    Sms = "sms" => Sms, Email = "email" => Email,
});
wire_enum!(NotificationChannel, intake::NotificationChannel, {
    Sms = "sms" => Sms, Email = "email" => Email, Webhook = "webhook" => Webhook,
});
wire_enum!(NotificationStatus, intake::NotificationStatus, {
    Queued = "queued" => Queued, Sent = "sent" => Sent, Delivered = "delivered" => Delivered,
    Failed = "failed" => Failed, Suppressed = "suppressed" => Suppressed,
});
wire_enum!(Coverage, common::Coverage, {
    Free = "free" => Free, Paid = "paid" => Paid, Contract = "contract" => Contract,
});

/// The customer, as a branch records them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Customer {
    #[schema(
        required = true,
        min_length = 1,
        max_length = 200,
        example = "Li Wei",
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    #[schema(required = true, value_type = Phone)]
    pub phone: String,
    #[schema(
        required = true,
        min_length = 1,
        max_length = 500,
        example = "88 Century Avenue, Pudong, Shanghai",
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub address: String,
    /// Decides the arrival deadline and the delivery method.
    #[schema(required = true, value_type = Region)]
    pub region: Option<Region>,
    #[serde(default)]
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(
        max_length = 254,
        example = "li.wei@example.com",
        pattern = r"^[^@ \x00-\x1F\x7F-\xA0]+@[^@ \x00-\x1F\x7F-\xA0]+\.[^@ \x00-\x1F\x7F-\xA0]+$"
    )]
    pub email: String,
}

/// The product and its documents. Dates are `YYYY-MM-DD`, never in the future; the factory date
/// is not after the purchase, the invoice not before it, and an invoice number goes with its date
/// (the service answers 422 naming the field otherwise).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Product {
    /// Lower-case on the way out.
    #[schema(
        required = true,
        min_length = 1,
        max_length = 64,
        example = "television",
        pattern = r"^[A-Za-z0-9 _-]*[A-Za-z0-9_-][A-Za-z0-9 _-]*$"
    )]
    pub category: String,
    #[schema(
        required = true,
        min_length = 1,
        max_length = 100,
        example = "X55",
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*[^ \x00-\x1F\x7F-\xA0][^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub model: String,
    #[schema(required = true, value_type = Serial)]
    pub serial: String,
    #[serde(default)]
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(value_type = Date)]
    pub purchase_date: String,
    #[serde(default)]
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(
        max_length = 64,
        example = "INV-9",
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub invoice_no: String,
    #[serde(default)]
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(value_type = Date)]
    pub invoice_date: String,
    #[serde(default)]
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(value_type = Date)]
    pub receipt_date: String,
    #[serde(default)]
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(value_type = Date)]
    pub factory_date: String,
    #[serde(default)]
    #[serde(skip_serializing_if = "String::is_empty")]
    #[schema(max_length = 64, pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$")]
    pub service_contract_no: String,
}

impl Product {
    pub fn into_proto(self) -> common::Product {
        common::Product {
            category: self.category,
            model: self.model,
            serial: self.serial,
            purchase_date: self.purchase_date,
            invoice_no: self.invoice_no,
            invoice_date: self.invoice_date,
            receipt_date: self.receipt_date,
            factory_date: self.factory_date,
            service_contract_no: self.service_contract_no,
        }
    }

    pub fn from_proto(p: common::Product) -> Self {
        Product {
            category: p.category,
            model: p.model,
            serial: p.serial,
            purchase_date: p.purchase_date,
            invoice_no: p.invoice_no,
            invoice_date: p.invoice_date,
            receipt_date: p.receipt_date,
            factory_date: p.factory_date,
            service_contract_no: p.service_contract_no,
        }
    }
}

/// A part and how many.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct PartLine {
    #[schema(required = true, value_type = PartNo)]
    pub part_no: String,
    #[schema(required = true, minimum = 1, maximum = 999, example = 1)]
    pub quantity: u32,
}

/// `POST /v1/requests` (DESIGN §8). A branch token's own branch is the default `branch`. A
/// request of any kind but `installation` describes the fault; a `replacement` names at least
/// one part, each part once (the service answers 422 naming the field otherwise).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CreateRequest {
    /// Default: the caller's branch (head office must name one).
    #[serde(default)]
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(required = true, value_type = Channel)]
    pub channel: Option<Channel>,
    #[schema(required = true, value_type = Kind)]
    pub kind: Option<Kind>,
    #[schema(required = true, value_type = Urgency)]
    pub urgency: Option<Urgency>,
    #[schema(required = true, value_type = Customer)]
    pub customer: Option<Customer>,
    #[schema(required = true, value_type = Product)]
    pub product: Option<Product>,
    #[serde(default)]
    #[schema(
        max_length = 4000,
        example = "no picture",
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub fault_description: String,
    /// http(s) links to the customer's photos.
    #[serde(default)]
    #[schema(max_items = 20, value_type = Vec<PhotoUrl>)]
    pub photos: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub parts: Vec<PartLine>,
    /// Damage by misuse is suspected: the claim goes to a person.
    #[serde(default)]
    pub misuse_suspected: bool,
    /// How the customer is told about each step (default: Chinese, by SMS).
    #[serde(default)]
    pub notifications: Option<NotificationPreferences>,
}

/// How the customer is told about each step: the language of the messages, SMS or e-mail (e-mail
/// needs `customer.email`), or no message at all (the branch's own system still hears of every
/// step).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct NotificationPreferences {
    /// `zh-CN` (default) or `en`; a longer tag (`zh-Hans-CN`, `en-GB`) counts by its language.
    #[serde(default)]
    #[schema(example = "en", max_length = 35)]
    pub language: String,
    #[serde(default)]
    #[schema(value_type = Option<ContactChannel>)]
    pub channel: Option<ContactChannel>,
    #[serde(default)]
    pub opt_out: bool,
}

impl NotificationPreferences {
    fn into_proto(self) -> intake::NotificationPreferences {
        intake::NotificationPreferences {
            language: self.language,
            channel: self.channel.map(ContactChannel::to_proto).unwrap_or(0),
            opt_out: self.opt_out,
        }
    }

    fn from_proto(p: intake::NotificationPreferences) -> Self {
        NotificationPreferences {
            language: p.language,
            channel: ContactChannel::parse(ContactChannel::text_of(p.channel)),
            opt_out: p.opt_out,
        }
    }
}

/// One message to the customer or the branch's system about one event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Notification {
    /// Also the e-mail's Message-ID and the webhook's and SMS provider's idempotency key.
    pub message_id: String,
    pub event_id: String,
    /// The event the message tells of (`logistics.shipment.dispatched`).
    #[schema(example = "logistics.shipment.dispatched")]
    pub event_type: String,
    #[schema(value_type = NotificationChannel)]
    pub channel: String,
    /// Phone number, e-mail address or webhook URL.
    pub recipient: String,
    #[schema(example = "en")]
    pub language: String,
    pub subject: String,
    pub body: String,
    #[schema(value_type = NotificationStatus)]
    pub status: String,
    pub attempts: u32,
    /// The provider's last answer (`SMTP 250 …`, `HTTP 503 …`) or why it was suppressed.
    pub provider_answer: String,
    #[schema(format = DateTime)]
    pub created_at: Option<String>,
    /// Not before (the end of the quiet hours for SMS, the next attempt after a failure).
    #[schema(format = DateTime)]
    pub due_at: Option<String>,
    #[schema(format = DateTime)]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sent_at: Option<String>,
}

/// The request's message log, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NotificationLog {
    #[schema(value_type = RequestNoSchema)]
    pub request_no: String,
    pub items: Vec<Notification>,
}

impl From<intake::ListNotificationsResponse> for NotificationLog {
    fn from(r: intake::ListNotificationsResponse) -> Self {
        NotificationLog {
            request_no: r.request_no,
            items: r
                .notifications
                .into_iter()
                .map(|m| Notification {
                    message_id: m.message_id,
                    event_id: m.event_id,
                    event_type: m.event_type,
                    channel: NotificationChannel::text_of(m.channel).to_owned(),
                    recipient: m.recipient,
                    language: m.language,
                    subject: m.subject,
                    body: m.body,
                    status: NotificationStatus::text_of(m.status).to_owned(),
                    attempts: m.attempts,
                    provider_answer: m.provider_answer,
                    created_at: m.created_at.as_ref().and_then(rfc3339),
                    due_at: m.due_at.as_ref().and_then(rfc3339),
                    sent_at: m.sent_at.as_ref().and_then(rfc3339),
                })
                .collect(),
        }
    }
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
            product: self.product.map(Product::into_proto),
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
            notifications: self.notifications.map(NotificationPreferences::into_proto),
        }
    }
}

/// A request as the branches see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Request {
    #[schema(value_type = RequestNoSchema)]
    pub request_no: String,
    #[schema(value_type = Status)]
    pub status: String,
    #[schema(value_type = BranchCode)]
    pub branch: String,
    #[schema(value_type = Channel)]
    pub channel: String,
    #[schema(value_type = Kind)]
    pub kind: String,
    #[schema(value_type = Urgency)]
    pub urgency: String,
    pub customer: Option<CustomerOut>,
    pub product: Option<Product>,
    pub fault_description: String,
    pub photos: Vec<String>,
    pub parts: Vec<PartLine>,
    #[schema(format = DateTime, example = "2026-11-22T08:00:00.000Z")]
    pub created_at: Option<String>,
    #[schema(format = DateTime, example = "2026-11-22T08:00:00.000Z")]
    pub updated_at: Option<String>,
    /// Why it is in its status (a rejection's reason, a cancellation's).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub status_reason: String,
    pub submitted_by: String,
    pub misuse_suspected: bool,
    /// The newest step the request reached (the routing key of its newest timeline entry).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub last_step: String,
    #[schema(format = DateTime, example = "2026-11-22T08:00:00.000Z")]
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_step_at: Option<String>,
    /// Present while the next step is overdue; gone once the request moves on.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stuck: Option<Stuck>,
    /// How the customer is told about each step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub notifications: Option<NotificationPreferences>,
}

/// A request whose next step is overdue (policy `intake.stuck_after`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Stuck {
    /// When the next step became overdue (the last step's time plus the expectation).
    #[schema(format = DateTime, example = "2026-11-22T08:02:00.000Z")]
    pub since: Option<String>,
    /// The expectation that was missed, as configured: `2m`, `5m`, `1wd` (working days).
    pub expected_within: String,
    /// What it applied to: a step (routing key), a status, or `*`.
    pub rule: String,
}

impl From<intake::Stuck> for Stuck {
    fn from(s: intake::Stuck) -> Self {
        Stuck {
            since: s.since.as_ref().and_then(rfc3339),
            expected_within: s.expected_within,
            rule: s.rule,
        }
    }
}

/// The customer of a request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = CustomerOut)]
pub struct CustomerOut {
    pub name: String,
    pub phone: String,
    pub address: String,
    #[schema(value_type = Region)]
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
            last_step: r.last_step,
            last_step_at: r.last_step_at.as_ref().and_then(rfc3339),
            stuck: r.stuck.map(Stuck::from),
            notifications: r.notifications.map(NotificationPreferences::from_proto),
        }
    }
}

/// A page of requests, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequestList {
    pub items: Vec<Request>,
    /// Pass it as `page_token` for the next page; empty on the last.
    pub next_page_token: String,
}

/// One event about a request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimelineEvent {
    pub event_id: String,
    /// The event's routing key (`claims.claim.approved`).
    #[serde(rename = "type")]
    #[schema(example = "claims.claim.approved")]
    pub kind: String,
    #[schema(format = DateTime)]
    pub at: Option<String>,
    pub producer: String,
    pub summary: String,
    /// The request's status after the event (empty when it did not move it).
    #[schema(value_type = StatusAfter)]
    pub status_after: String,
}

/// Every event about a request, oldest first: the claim's, the warehouse's movements for it, …
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Timeline {
    #[schema(value_type = RequestNoSchema)]
    pub request_no: String,
    #[schema(value_type = Status)]
    pub status: String,
    pub events: Vec<TimelineEvent>,
    /// Present while the next step is overdue: the last step reached is the newest event.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stuck: Option<Stuck>,
}

/// A status, or empty (an event that did not move the request).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)] // a schema only
pub enum StatusAfter {
    #[serde(rename = "")]
    None,
    #[serde(rename = "submitted")]
    Submitted,
    #[serde(rename = "under_review")]
    UnderReview,
    #[serde(rename = "approved")]
    Approved,
    #[serde(rename = "rejected")]
    Rejected,
    #[serde(rename = "sourcing")]
    Sourcing,
    #[serde(rename = "shipped")]
    Shipped,
    #[serde(rename = "delivered")]
    Delivered,
    #[serde(rename = "in_service")]
    InService,
    #[serde(rename = "completed")]
    Completed,
    #[serde(rename = "closed")]
    Closed,
    #[serde(rename = "cancelled")]
    Cancelled,
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
            stuck: t.stuck.map(Stuck::from),
        }
    }
}

/// `POST /v1/requests/{request_no}/cancel`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CancelBody {
    #[serde(default)]
    #[schema(
        max_length = 500,
        example = "customer fixed it",
        pattern = r"^[^\x00-\x08\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub reason: String,
}

/// Query of `GET /v1/requests`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only these statuses, comma-separated (`submitted,under_review`).
    #[param(value_type = Option<Vec<Status>>, style = Form, explode = false)]
    pub status: Option<String>,
    /// From the previous page's `next_page_token`.
    #[param(max_length = 512, pattern = "^[A-Za-z0-9_.=-]*$")]
    pub page_token: Option<String>,
    /// At most 200; default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub page_size: Option<String>,
    /// Head office: one branch's requests (a branch token sees only its own anyway).
    #[param(value_type = Option<BranchCode>)]
    pub branch: Option<String>,
    /// Requests of this phone number, however it was typed.
    #[param(value_type = Option<Phone>)]
    pub customer_phone: Option<String>,
    /// `true`: only requests whose next step is overdue (stuck).
    #[param(value_type = Option<bool>)]
    pub stuck: Option<String>,
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
        let stuck_only = match self.stuck.as_deref() {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(Problem::field("stuck", "must be true or false")),
        };
        Ok(intake::ListRequestsRequest {
            branch: self.branch.unwrap_or_default(),
            statuses,
            customer_phone: self.customer_phone.unwrap_or_default(),
            created: None,
            page_size,
            page_token: self.page_token.unwrap_or_default(),
            stuck_only,
        })
    }
}

/// Collects every bad field of one request, to answer them all at once (400).
#[derive(Default)]
pub struct Violations(Vec<crate::problem::FieldViolation>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(crate::problem::FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    pub fn finish(self) -> Result<(), Problem> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Problem::bad_request(self.0))
        }
    }
}

/// `page_size` as text (the document bounds it): empty is the service's default.
pub fn page_size(text: Option<&str>, bad: &mut Violations) -> u32 {
    match text {
        None | Some("") => 0,
        Some(n) => n.parse::<u32>().unwrap_or_else(|_| {
            bad.add("page_size", "must be a whole number");
            0
        }),
    }
}

/// An RFC 3339 instant of a query or body (the document says `date-time`); `None` when absent.
pub fn instant(
    text: Option<&str>,
    field: &str,
    bad: &mut Violations,
) -> Option<prost_types::Timestamp> {
    let t = text.filter(|t| !t.is_empty())?;
    match chrono::DateTime::parse_from_rfc3339(t) {
        Ok(d) => Some(prost_types::Timestamp {
            seconds: d.timestamp(),
            nanos: d.timestamp_subsec_nanos() as i32,
        }),
        Err(_) => {
            bad.add(field, "must be an RFC 3339 instant (2026-11-22T08:00:00Z)");
            None
        }
    }
}

/// An instant of a proto message as RFC 3339, `None` (null) when unset.
pub fn instant_out(t: &Option<prost_types::Timestamp>) -> Option<String> {
    t.as_ref().and_then(rfc3339)
}

/// A wire text, `None` (null) for UNSPECIFIED (empty).
pub fn text(t: &'static str) -> Option<String> {
    (!t.is_empty()).then(|| t.to_owned())
}

/// A comma-separated list of lower-case values (`active,warned`) as proto numbers; an unknown
/// value names `field` (the document lists the values, so only a drift between the two gets
/// here).
pub fn enum_list(
    text: Option<&str>,
    field: &str,
    parse: impl Fn(&str) -> Option<i32>,
    bad: &mut Violations,
) -> Vec<i32> {
    let mut out = Vec::new();
    for s in text
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match parse(s) {
            Some(v) => out.push(v),
            None => bad.add(field, format!("{s:?} is not one of the listed values")),
        }
    }
    out
}

/// An amount of money sent by a client, in the currency's minor unit.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = MoneyInput)]
pub struct MoneyIn {
    #[schema(value_type = crate::api::schema::Currency)]
    pub currency: String,
    #[schema(minimum = 0, maximum = 100000000000i64, example = 3300)]
    pub amount_minor: i64,
}

impl MoneyIn {
    pub fn to_proto(&self) -> common::Money {
        common::Money {
            currency: self.currency.clone(),
            amount_minor: self.amount_minor,
        }
    }
}

/// An amount of a proto message, `None` (null) when unset.
pub fn money_out(m: &Option<common::Money>) -> Option<crate::api::claims::Money> {
    m.as_ref().map(|m| crate::api::claims::Money {
        currency: m.currency.clone(),
        amount_minor: m.amount_minor,
    })
}

/// A part and a quantity, as the services exchange them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = PartQuantity)]
pub struct PartQuantity {
    #[schema(value_type = PartNo)]
    pub part_no: String,
    #[schema(minimum = 1, maximum = 100000, example = 1)]
    pub quantity: u32,
}

impl PartQuantity {
    pub fn to_proto(&self) -> common::PartLine {
        common::PartLine {
            part_no: self.part_no.clone(),
            quantity: self.quantity,
        }
    }

    pub fn from_proto(p: &common::PartLine) -> Self {
        PartQuantity {
            part_no: p.part_no.clone(),
            quantity: p.quantity,
        }
    }
}

/// A postal destination (where parts go, where a pick-up happens).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Address {
    pub recipient: String,
    pub phone: String,
    pub address: String,
    #[schema(value_type = Option<Region>)]
    pub region: Option<String>,
    pub branch: String,
}

impl Address {
    pub fn from_proto(a: &Option<common::Address>) -> Option<Address> {
        a.as_ref().map(|a| Address {
            recipient: a.recipient.clone(),
            phone: a.phone.clone(),
            address: a.address.clone(),
            region: text(Region::text_of(a.region)),
            branch: a.branch.clone(),
        })
    }
}

/// A span of time; either end may be absent (null).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeRange {
    #[schema(format = DateTime)]
    pub from: Option<String>,
    #[schema(format = DateTime)]
    pub to: Option<String>,
}

impl TimeRange {
    pub fn from_proto(r: &Option<common::TimeRange>) -> Option<TimeRange> {
        r.as_ref().map(|r| TimeRange {
            from: instant_out(&r.from),
            to: instant_out(&r.to),
        })
    }
}

/// A customer as the services after intake hold them (the region may be unknown: null).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Contact {
    pub name: String,
    pub phone: String,
    pub address: String,
    #[schema(value_type = Option<Region>)]
    pub region: Option<String>,
    pub email: String,
}

impl Contact {
    pub fn from_proto(c: &Option<common::Customer>) -> Option<Contact> {
        c.as_ref().map(|c| Contact {
            name: c.name.clone(),
            phone: c.phone.clone(),
            address: c.address.clone(),
            region: text(Region::text_of(c.region)),
            email: c.email.clone(),
        })
    }
}

/// The local month `YYYY-MM` as the instants it spans, `[first day 00:00, next month's first day)`
/// at `offset_minutes` east of UTC (the department's calendar).
pub fn month_range(month: &str, offset_minutes: i32) -> Option<common::TimeRange> {
    use chrono::{Datelike, NaiveDate, TimeZone};
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
    };
    let zone = chrono::FixedOffset::east_opt(offset_minutes * 60)?;
    let at = |d: NaiveDate| -> Option<prost_types::Timestamp> {
        let t = zone
            .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .single()?;
        Some(prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: 0,
        })
    };
    Some(common::TimeRange {
        from: Some(at(first)?),
        to: Some(at(next)?),
    })
}

/// The local dates `[from, to]` (both inclusive) as instants `[from 00:00, to + 1 day 00:00)`.
pub fn date_range(from: &str, to: &str, offset_minutes: i32) -> Option<common::TimeRange> {
    use chrono::{NaiveDate, TimeZone};
    let zone = chrono::FixedOffset::east_opt(offset_minutes * 60)?;
    let at = |d: NaiveDate| -> Option<prost_types::Timestamp> {
        let t = zone
            .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
            .single()?;
        Some(prost_types::Timestamp {
            seconds: t.timestamp(),
            nanos: 0,
        })
    };
    let from = NaiveDate::parse_from_str(from, "%Y-%m-%d").ok()?;
    let to = NaiveDate::parse_from_str(to, "%Y-%m-%d").ok()?.succ_opt()?;
    Some(common::TimeRange {
        from: Some(at(from)?),
        to: Some(at(to)?),
    })
}

/// The current month in the department's local time, `YYYY-MM`.
pub fn this_month(offset_minutes: i32) -> String {
    // An offset out of range (refused at start by the settings check) falls back to UTC.
    let zone = chrono::FixedOffset::east_opt(offset_minutes * 60)
        .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc));
    chrono::Utc::now()
        .with_timezone(&zone)
        .format("%Y-%m")
        .to_string()
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
