//! The tonic service: proto → domain through parsing (once, here), authorization on every call,
//! domain → proto for answers, one `Error → Status` mapping.

use aftersales_platform::auth::{Caller, Role, Verifier};
use aftersales_platform::paging;
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::intake::v1 as pb;
use aftersales_platform::proto::intake::v1::intake_service_server::IntakeService;
use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use tonic::{Request, Response, Status};

use crate::domain::request::{
    self, ContactChannel, Customer, Language, NotifyPrefs, PartLine, PhoneNumber, Product,
    Violations, limits,
};
use crate::domain::tracking::BranchCode;
use crate::domain::{Channel, NewRequest, Region, RequestKind, RequestNo, RequestStatus, Urgency};
use crate::error::Error;
use crate::service::Intake;
use crate::store::photos::Photo as PhotoRecord;
use crate::store::requests::{ListFilter, StoredRequest};

/// Who may submit and cancel requests (admin always may).
const WRITERS: &[Role] = &[Role::BranchAgent, Role::Dispatcher];
/// Who may read requests: every role, each within its branch scope.
const READERS: &[Role] = &[
    Role::BranchAgent,
    Role::Reviewer,
    Role::Warehouse,
    Role::Procurement,
    Role::Logistics,
    Role::Dispatcher,
    Role::Technician,
    Role::Analyst,
];

pub struct Api {
    pub intake: Intake,
    pub verifier: Verifier,
    pub max_page_size: u32,
}

impl Api {
    fn authorize<T>(&self, req: &Request<T>, roles: &[Role]) -> Result<Caller, Status> {
        Ok(self.verifier.require(req.metadata(), roles)?)
    }

    /// The request as answered: with whether its next step is overdue now.
    fn answer(&self, r: &StoredRequest) -> pb::ServiceRequest {
        let mut p = to_proto(r);
        p.stuck = self.intake.stuck_now(r).map(stuck_to_proto);
        p
    }
}

fn stuck_to_proto(s: crate::domain::stuck::Stuck) -> pb::Stuck {
    pb::Stuck {
        since: Some(timestamp(s.since)),
        expected_within: s.expected_within,
        rule: s.rule,
    }
}

#[tonic::async_trait]
impl IntakeService for Api {
    async fn submit_request(
        &self,
        request: Request<pb::SubmitRequestRequest>,
    ) -> Result<Response<pb::SubmitRequestResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let msg = request.into_inner();
        let new = parse_submission(&msg, Utc::now().date_naive())?;
        if !caller.sees_branch(new.branch.as_str()) {
            return Err(Status::permission_denied(format!(
                "you may submit requests only for branch {}",
                caller.branch().unwrap_or("*")
            )));
        }
        let (stored, created) = self.intake.submit(&caller, new).await?;
        Ok(Response::new(pb::SubmitRequestResponse {
            request: Some(self.answer(&stored)),
            created,
        }))
    }

    async fn get_request(
        &self,
        request: Request<pb::GetRequestRequest>,
    ) -> Result<Response<pb::GetRequestResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let no = parse_request_no(&request.get_ref().request_no)?;
        let stored = self.intake.get(&caller, &no).await?;
        Ok(Response::new(pb::GetRequestResponse {
            request: Some(self.answer(&stored)),
        }))
    }

    async fn list_requests(
        &self,
        request: Request<pb::ListRequestsRequest>,
    ) -> Result<Response<pb::ListRequestsResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let filter = parse_list(request.get_ref(), &caller, self.max_page_size)?;
        let Some(mut filter) = filter else {
            // Asking for another branch's list yields nothing, exactly as if it were empty.
            return Ok(Response::new(pb::ListRequestsResponse::default()));
        };
        if request.get_ref().stuck_only {
            filter.stuck = Some(self.intake.stuck_cutoffs());
        }
        let (rows, last) = self.intake.list(filter).await?;
        Ok(Response::new(pb::ListRequestsResponse {
            requests: rows.iter().map(|r| self.answer(r)).collect(),
            next_page_token: last
                .map(|l| page_token(l.created_at, l.request_no.as_str()))
                .unwrap_or_default(),
        }))
    }

    async fn cancel_request(
        &self,
        request: Request<pb::CancelRequestRequest>,
    ) -> Result<Response<pb::CancelRequestResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let msg = request.into_inner();
        let no = parse_request_no(&msg.request_no)?;
        let mut v = Violations::default();
        let reason = v.check("reason", request::optional_text(&msg.reason, 500));
        if !v.is_empty() {
            return Err(Error::Invalid(v.into_vec()).into());
        }
        let stored = self
            .intake
            .cancel(&caller, &no, &reason.unwrap_or_default())
            .await?;
        Ok(Response::new(pb::CancelRequestResponse {
            request: Some(self.answer(&stored)),
        }))
    }

    async fn get_timeline(
        &self,
        request: Request<pb::GetTimelineRequest>,
    ) -> Result<Response<pb::GetTimelineResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let no = parse_request_no(&request.get_ref().request_no)?;
        let (r, entries, messages) = self.intake.timeline(&caller, &no).await?;
        // The messages join the timeline once they have an outcome, after the event they tell
        // of and with its status (a queued message is not yet news).
        let status_of = |event_id: &uuid::Uuid| {
            entries
                .iter()
                .find(|e| e.event_id == *event_id)
                .map(|e| e.status_after)
                .unwrap_or(r.status)
        };
        let mut all: Vec<pb::TimelineEntry> = messages
            .iter()
            .filter(|m| m.status != "queued")
            .map(|m| pb::TimelineEntry {
                event_id: m.message_id.to_string(),
                r#type: format!("intake.notification.{}", m.status),
                at: Some(timestamp(m.sent_at.unwrap_or(m.created_at))),
                producer: crate::config::SERVICE.to_owned(),
                summary: message_line(m),
                status_after: status_to_proto(status_of(&m.event_id)) as i32,
            })
            .collect();
        all.extend(entries.iter().map(|e| pb::TimelineEntry {
            event_id: e.event_id.to_string(),
            r#type: e.routing_key.clone(),
            at: Some(timestamp(e.occurred_at)),
            producer: e.producer.clone(),
            summary: e.summary.clone(),
            status_after: status_to_proto(e.status_after) as i32,
        }));
        all.sort_by_key(|e| e.at.as_ref().map(|t| (t.seconds, t.nanos)));
        Ok(Response::new(pb::GetTimelineResponse {
            stuck: self.intake.stuck_now(&r).map(stuck_to_proto),
            request_no: no.to_string(),
            status: status_to_proto(r.status) as i32,
            entries: all,
        }))
    }

    async fn list_notifications(
        &self,
        request: Request<pb::ListNotificationsRequest>,
    ) -> Result<Response<pb::ListNotificationsResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let no = parse_request_no(&request.get_ref().request_no)?;
        let messages = self.intake.notifications(&caller, &no).await?;
        Ok(Response::new(pb::ListNotificationsResponse {
            request_no: no.to_string(),
            notifications: messages.iter().map(notification_to_proto).collect(),
        }))
    }

    async fn add_photo(
        &self,
        request: Request<pb::AddPhotoRequest>,
    ) -> Result<Response<pb::AddPhotoResponse>, Status> {
        let caller = self.authorize(&request, WRITERS)?;
        let msg = request.into_inner();
        let no = parse_request_no(&msg.request_no)?;
        let (photo, key) = parse_photo(&msg, &no)?;
        let (stored, created) = self.intake.add_photo(&caller, &no, photo, &key).await?;
        Ok(Response::new(pb::AddPhotoResponse {
            photo: Some(photo_to_proto(&stored)),
            created,
        }))
    }

    async fn list_photos(
        &self,
        request: Request<pb::ListPhotosRequest>,
    ) -> Result<Response<pb::ListPhotosResponse>, Status> {
        let caller = self.authorize(&request, READERS)?;
        let no = parse_request_no(&request.get_ref().request_no)?;
        let photos = self.intake.photos(&caller, &no).await?;
        Ok(Response::new(pb::ListPhotosResponse {
            photos: photos.iter().map(photo_to_proto).collect(),
        }))
    }
}

/// "E-mail to li.wei@example.com sent: [After-sales] Your claim is approved (AS-…)".
fn message_line(m: &crate::store::notifications::Message) -> String {
    let channel = match m.channel.as_str() {
        "email" => "E-mail",
        "sms" => "SMS",
        _ => "Webhook call",
    };
    let mut line = format!("{channel} to {} {}: {}", m.recipient, m.status, m.subject);
    if matches!(m.status.as_str(), "failed" | "suppressed") && !m.provider_answer.is_empty() {
        line.push_str(&format!(" ({})", m.provider_answer));
    }
    line
}

fn notification_to_proto(m: &crate::store::notifications::Message) -> pb::Notification {
    use crate::store::notifications::{Channel as C, Status as S};
    pb::Notification {
        message_id: m.message_id.to_string(),
        event_id: m.event_id.to_string(),
        event_type: m.event_type.clone(),
        channel: match C::parse(&m.channel) {
            Some(C::Sms) => pb::NotificationChannel::Sms,
            Some(C::Email) => pb::NotificationChannel::Email,
            Some(C::Webhook) => pb::NotificationChannel::Webhook,
            None => pb::NotificationChannel::Unspecified,
        } as i32,
        recipient: m.recipient.clone(),
        language: m.language.clone(),
        subject: m.subject.clone(),
        body: m.body.clone(),
        status: match S::parse(&m.status) {
            Some(S::Queued) => pb::NotificationStatus::Queued,
            Some(S::Sent) => pb::NotificationStatus::Sent,
            Some(S::Delivered) => pb::NotificationStatus::Delivered,
            Some(S::Failed) => pb::NotificationStatus::Failed,
            Some(S::Suppressed) => pb::NotificationStatus::Suppressed,
            None => pb::NotificationStatus::Unspecified,
        } as i32,
        attempts: m.attempts.max(0) as u32,
        provider_answer: m.provider_answer.clone(),
        created_at: Some(timestamp(m.created_at)),
        due_at: Some(timestamp(m.due_at)),
        sent_at: m.sent_at.map(timestamp),
    }
}

/// The largest photo the gateway accepts (10 MiB); a record claiming more is refused.
const PHOTO_BYTES: u64 = 10 * 1024 * 1024;
/// The types the gateway recognises by their bytes.
const PHOTO_TYPES: &[&str] = &["image/jpeg", "image/png", "image/heic"];

/// An `AddPhoto` message → the record to store and the idempotency key, every bad field named.
/// The keys must lie under the request's own prefix, so a record cannot point at another
/// request's objects.
fn parse_photo(m: &pb::AddPhotoRequest, no: &RequestNo) -> Result<(PhotoRecord, String), Error> {
    let mut v = Violations::default();
    let key = v.check(
        "idempotency_key",
        request::idempotency_key(&m.idempotency_key),
    );
    let default = pb::Photo::default();
    let p = m.photo.as_ref().unwrap_or_else(|| {
        v.add("photo", "is required");
        &default
    });
    let photo_id = v.check(
        "photo.photo_id",
        uuid::Uuid::parse_str(p.photo_id.trim()).map_err(|_| "must be a UUID"),
    );
    if !PHOTO_TYPES.contains(&p.content_type.as_str()) {
        v.add(
            "photo.content_type",
            format!("must be one of {}", PHOTO_TYPES.join(", ")),
        );
    }
    if p.size_bytes == 0 || p.size_bytes > PHOTO_BYTES {
        v.add(
            "photo.size_bytes",
            format!("must be between 1 and {PHOTO_BYTES}"),
        );
    }
    if p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        v.add("photo.sha256", "must be 64 hex digits");
    }
    let prefix = format!("requests/{no}/");
    let under = |k: &str| {
        k.starts_with(&prefix)
            && k.len() <= 200
            && !k.contains("..")
            && k[prefix.len()..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
    };
    if !under(&p.object_key) {
        v.add("photo.object_key", format!("must be a name under {prefix}"));
    }
    let thumbnail_ok = if p.content_type == "image/heic" {
        p.thumbnail_key.is_empty()
    } else {
        p.thumbnail_key.is_empty() || under(&p.thumbnail_key)
    };
    if !thumbnail_ok {
        v.add(
            "photo.thumbnail_key",
            format!("must be empty (HEIC) or a name under {prefix}"),
        );
    }
    let filename = v.check("photo.filename", request::optional_text(&p.filename, 255));
    let width = v.check(
        "photo.width",
        i32::try_from(p.width).map_err(|_| "is too large"),
    );
    let height = v.check(
        "photo.height",
        i32::try_from(p.height).map_err(|_| "is too large"),
    );
    match (key, photo_id, filename, width, height) {
        (Some(key), Some(photo_id), Some(filename), Some(width), Some(height)) if v.is_empty() => {
            Ok((
                PhotoRecord {
                    photo_id,
                    request_no: no.to_string(),
                    content_type: p.content_type.clone(),
                    size_bytes: p.size_bytes as i64,
                    sha256: p.sha256.to_ascii_lowercase(),
                    object_key: p.object_key.clone(),
                    thumbnail_key: p.thumbnail_key.clone(),
                    filename,
                    // Set by the service: the caller and the time of recording.
                    uploaded_by: String::new(),
                    uploaded_at: DateTime::<Utc>::UNIX_EPOCH,
                    width,
                    height,
                },
                key,
            ))
        }
        _ => Err(Error::Invalid(v.into_vec())),
    }
}

fn photo_to_proto(p: &PhotoRecord) -> pb::Photo {
    pb::Photo {
        photo_id: p.photo_id.to_string(),
        request_no: p.request_no.clone(),
        content_type: p.content_type.clone(),
        size_bytes: p.size_bytes.max(0) as u64,
        sha256: p.sha256.clone(),
        object_key: p.object_key.clone(),
        thumbnail_key: p.thumbnail_key.clone(),
        filename: p.filename.clone(),
        uploaded_by: p.uploaded_by.clone(),
        uploaded_at: Some(timestamp(p.uploaded_at)),
        width: p.width.max(0) as u32,
        height: p.height.max(0) as u32,
    }
}

fn parse_request_no(s: &str) -> Result<RequestNo, Status> {
    RequestNo::parse(s.trim()).map_err(|e| {
        Error::Invalid(vec![aftersales_platform::grpc::Violation::new(
            "request_no",
            e,
        )])
        .into()
    })
}

/// Proto enum value → domain value, naming the field and the accepted values when it is not one.
fn enum_field<P, D: Copy>(
    v: &mut Violations,
    field: &str,
    raw: i32,
    from_proto: impl Fn(P) -> Option<D>,
    decode: impl Fn(i32) -> Result<P, prost::UnknownEnumValue>,
    choices: String,
) -> Option<D> {
    match decode(raw) {
        Ok(p) => match from_proto(p) {
            Some(d) => Some(d),
            None => {
                v.add(field, format!("is required: one of {choices}"));
                None
            }
        },
        Err(_) => {
            v.add(
                field,
                format!("{raw} is not a valid value: one of {choices}"),
            );
            None
        }
    }
}

fn channel_from(c: common::Channel) -> Option<Channel> {
    Some(match c {
        common::Channel::Unspecified => return None,
        common::Channel::Hotline => Channel::Hotline,
        common::Channel::Web => Channel::Web,
        common::Channel::Email => Channel::Email,
        common::Channel::Branch => Channel::Branch,
    })
}
fn kind_from(k: common::RequestKind) -> Option<RequestKind> {
    Some(match k {
        common::RequestKind::Unspecified => return None,
        common::RequestKind::Replacement => RequestKind::Replacement,
        common::RequestKind::Repair => RequestKind::Repair,
        common::RequestKind::Return => RequestKind::Return,
        common::RequestKind::Exchange => RequestKind::Exchange,
        common::RequestKind::Installation => RequestKind::Installation,
    })
}
fn urgency_from(u: common::Urgency) -> Option<Urgency> {
    Some(match u {
        common::Urgency::Unspecified => return None,
        common::Urgency::Low => Urgency::Low,
        common::Urgency::Normal => Urgency::Normal,
        common::Urgency::High => Urgency::High,
        common::Urgency::Critical => Urgency::Critical,
    })
}
fn region_from(r: common::Region) -> Option<Region> {
    Some(match r {
        common::Region::Unspecified => return None,
        common::Region::Urban => Region::Urban,
        common::Region::Suburban => Region::Suburban,
        common::Region::Remote => Region::Remote,
    })
}

/// Parses a submission, collecting every bad field. `today` bounds the dates.
pub fn parse_submission(
    m: &pb::SubmitRequestRequest,
    today: NaiveDate,
) -> Result<NewRequest, Error> {
    let mut v = Violations::default();
    if m.encoded_len() > limits::MESSAGE_BYTES {
        v.add(
            "request",
            format!("is {} bytes; the limit is 4 MiB", m.encoded_len()),
        );
    }
    let idempotency_key = v.check(
        "idempotency_key",
        request::idempotency_key(&m.idempotency_key),
    );
    let branch = v.check("branch", BranchCode::parse(m.branch.trim()));
    let channel = enum_field(
        &mut v,
        "channel",
        m.channel,
        channel_from,
        common::Channel::try_from,
        Channel::choices(),
    );
    let kind = enum_field(
        &mut v,
        "kind",
        m.kind,
        kind_from,
        common::RequestKind::try_from,
        RequestKind::choices(),
    );
    let urgency = enum_field(
        &mut v,
        "urgency",
        m.urgency,
        urgency_from,
        common::Urgency::try_from,
        Urgency::choices(),
    );

    let default_customer = common::Customer::default();
    let c = m.customer.as_ref().unwrap_or_else(|| {
        v.add("customer", "is required");
        &default_customer
    });
    let customer_given = m.customer.is_some();
    let name = v.check(
        "customer.name",
        request::required_text(&c.name, limits::NAME),
    );
    let phone = v.check("customer.phone", PhoneNumber::parse(&c.phone));
    let address = v.check(
        "customer.address",
        request::required_text(&c.address, limits::ADDRESS),
    );
    let region = enum_field(
        &mut v,
        "customer.region",
        c.region,
        region_from,
        common::Region::try_from,
        Region::choices(),
    );
    let email = v.check("customer.email", request::email(&c.email));
    let notify = parse_prefs(&mut v, m.notifications.as_ref(), email.as_deref());

    let default_product = common::Product::default();
    let p = m.product.as_ref().unwrap_or_else(|| {
        v.add("product", "is required");
        &default_product
    });
    let product = if m.product.is_some() || customer_given {
        let category = v.check("product.category", request::category(&p.category));
        let model = v.check(
            "product.model",
            request::required_text(&p.model, limits::MODEL),
        );
        let serial = v.check("product.serial", request::serial(&p.serial));
        let purchase_date = v.check(
            "product.purchase_date",
            request::optional_date(&p.purchase_date, today),
        );
        let invoice_no = v.check(
            "product.invoice_no",
            request::optional_text(&p.invoice_no, limits::DOCUMENT_NO),
        );
        let invoice_date = v.check(
            "product.invoice_date",
            request::optional_date(&p.invoice_date, today),
        );
        let receipt_date = v.check(
            "product.receipt_date",
            request::optional_date(&p.receipt_date, today),
        );
        let factory_date = v.check(
            "product.factory_date",
            request::optional_date(&p.factory_date, today),
        );
        let contract = v.check(
            "product.service_contract_no",
            request::optional_text(&p.service_contract_no, limits::DOCUMENT_NO),
        );
        match (
            category,
            model,
            serial,
            purchase_date,
            invoice_no,
            invoice_date,
            receipt_date,
            factory_date,
            contract,
        ) {
            (
                Some(category),
                Some(model),
                Some(serial),
                Some(purchase_date),
                Some(invoice_no),
                Some(invoice_date),
                Some(receipt_date),
                Some(factory_date),
                Some(service_contract_no),
            ) => Some(Product {
                category,
                model,
                serial,
                purchase_date,
                invoice_no,
                invoice_date,
                receipt_date,
                factory_date,
                service_contract_no,
            }),
            _ => None,
        }
    } else {
        None
    };

    let fault = v.check(
        "fault_description",
        request::optional_text(&m.fault_description, limits::FAULT),
    );
    if m.photos.len() > limits::PHOTOS {
        v.add("photos", format!("at most {} photos", limits::PHOTOS));
    }
    let photos: Vec<String> = m
        .photos
        .iter()
        .take(limits::PHOTOS)
        .enumerate()
        .filter_map(|(i, url)| v.check(format!("photos[{i}]"), request::photo_url(url)))
        .collect();
    if m.parts.len() > limits::PARTS {
        v.add("parts", format!("at most {} part lines", limits::PARTS));
    }
    let mut parts = Vec::new();
    for (i, line) in m.parts.iter().take(limits::PARTS).enumerate() {
        let part_no = v.check(
            format!("parts[{i}].part_no"),
            request::part_no(&line.part_no),
        );
        if line.quantity == 0 || line.quantity > limits::QUANTITY {
            v.add(
                format!("parts[{i}].quantity"),
                format!("must be between 1 and {}", limits::QUANTITY),
            );
        } else if let Some(part_no) = part_no {
            parts.push(PartLine {
                part_no,
                quantity: line.quantity,
            });
        }
    }
    if let Some(product) = &product {
        request::cross_field_rules(
            &mut v,
            kind,
            product,
            fault.as_deref().unwrap_or(""),
            &parts,
        );
    }

    match (
        idempotency_key,
        branch,
        channel,
        kind,
        urgency,
        name,
        phone,
        address,
        region,
        email,
        product,
        fault,
    ) {
        (
            Some(idempotency_key),
            Some(branch),
            Some(channel),
            Some(kind),
            Some(urgency),
            Some(name),
            Some(phone),
            Some(address),
            Some(region),
            Some(email),
            Some(product),
            Some(fault_description),
        ) if v.is_empty() => Ok(NewRequest {
            idempotency_key,
            branch,
            channel,
            kind,
            urgency,
            customer: Customer {
                name,
                phone,
                address,
                region,
                email,
            },
            product,
            fault_description,
            photos,
            parts,
            misuse_suspected: m.misuse_suspected,
            notify,
        }),
        _ => Err(Error::Invalid(v.into_vec())),
    }
}

/// The customer's notification preferences; every field optional.
fn parse_prefs(
    v: &mut Violations,
    m: Option<&pb::NotificationPreferences>,
    email: Option<&str>,
) -> NotifyPrefs {
    let Some(m) = m else {
        return NotifyPrefs::default();
    };
    let language = if m.language.trim().is_empty() {
        Language::default()
    } else {
        Language::parse(&m.language).unwrap_or_else(|| {
            v.add(
                "notifications.language",
                format!("{:?} is not one of zh-CN, en", m.language),
            );
            Language::default()
        })
    };
    let channel = match pb::ContactChannel::try_from(m.channel) {
        Ok(pb::ContactChannel::Unspecified | pb::ContactChannel::Sms) => ContactChannel::Sms,
        Ok(pb::ContactChannel::Email) => {
            if email.is_some_and(str::is_empty) && !m.opt_out {
                v.add(
                    "notifications.channel",
                    "email needs customer.email (or choose sms)",
                );
            }
            ContactChannel::Email
        }
        Err(_) => {
            v.add(
                "notifications.channel",
                format!("{} is not one of sms, email", m.channel),
            );
            ContactChannel::Sms
        }
    };
    NotifyPrefs {
        language,
        channel,
        opt_out: m.opt_out,
    }
}

/// The customer's preferences on the wire.
pub fn prefs_to_proto(p: &NotifyPrefs) -> pb::NotificationPreferences {
    pb::NotificationPreferences {
        language: p.language.as_str().to_owned(),
        channel: match p.channel {
            ContactChannel::Sms => pb::ContactChannel::Sms,
            ContactChannel::Email => pb::ContactChannel::Email,
        } as i32,
        opt_out: p.opt_out,
    }
}

/// The filter for a list, narrowed to the caller's branch; `None` when the caller asked for a
/// branch it may not see.
fn parse_list(
    m: &pb::ListRequestsRequest,
    caller: &Caller,
    max: u32,
) -> Result<Option<ListFilter>, Status> {
    let mut v = Violations::default();
    let asked = m.branch.trim();
    let branch = match (caller.branch(), asked) {
        (Some(own), "") => Some(own.to_owned()),
        (Some(own), b) if b == own => Some(own.to_owned()),
        (Some(_), _) => return Ok(None),
        (None, "") => None,
        (None, b) => v
            .check("branch", BranchCode::parse(b))
            .map(|b| b.to_string()),
    };
    let mut statuses = Vec::new();
    for (i, s) in m.statuses.iter().enumerate() {
        match pb::RequestStatus::try_from(*s)
            .ok()
            .and_then(status_from_proto)
        {
            Some(st) => statuses.push(st),
            None => v.add(
                format!("statuses[{i}]"),
                format!("{s} is not a request status"),
            ),
        }
    }
    let phone_digits = if m.customer_phone.trim().is_empty() {
        None
    } else {
        v.check("customer_phone", PhoneNumber::parse(&m.customer_phone))
            .map(|p| p.digits)
    };
    let range = m.created.unwrap_or_default();
    let created_from = range
        .from
        .as_ref()
        .and_then(|t| from_timestamp(&mut v, "created.from", t));
    let created_to = range
        .to
        .as_ref()
        .and_then(|t| from_timestamp(&mut v, "created.to", t));
    if let (Some(a), Some(b)) = (created_from, created_to)
        && b <= a
    {
        v.add("created.to", "must be after created.from");
    }
    let limit = match m.page_size {
        0 => 50.min(max),
        n if n > max => {
            v.add("page_size", format!("must be at most {max}"));
            max
        }
        n => n,
    };
    let after = if m.page_token.is_empty() {
        None
    } else {
        v.check("page_token", parse_page_token(&m.page_token))
    };
    if !v.is_empty() {
        return Err(Error::Invalid(v.into_vec()).into());
    }
    Ok(Some(ListFilter {
        branch,
        statuses,
        phone_digits,
        created_from,
        created_to,
        after,
        limit,
        stuck: None,
    }))
}

fn from_timestamp(
    v: &mut Violations,
    field: &str,
    t: &prost_types::Timestamp,
) -> Option<DateTime<Utc>> {
    let d = DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32);
    if d.is_none() {
        v.add(field, "is not a valid timestamp");
    }
    d
}

/// Opaque to clients (the platform's one token scheme): the last row's creation instant and
/// number, the keyset of the newest-first order.
fn page_token(at: DateTime<Utc>, request_no: &str) -> String {
    paging::encode(&(at.timestamp_micros(), request_no))
}

fn parse_page_token(token: &str) -> Result<(DateTime<Utc>, String), String> {
    let bad = || "is not a page token this list issued".to_owned();
    let (micros, no) = paging::decode::<(i64, String)>(token)?.ok_or_else(bad)?;
    let at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
    let no = RequestNo::parse(&no).map_err(|_| bad())?;
    Ok((at, no.into_string()))
}

pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn status_to_proto(s: RequestStatus) -> pb::RequestStatus {
    match s {
        RequestStatus::Submitted => pb::RequestStatus::Submitted,
        RequestStatus::UnderReview => pb::RequestStatus::UnderReview,
        RequestStatus::Approved => pb::RequestStatus::Approved,
        RequestStatus::Rejected => pb::RequestStatus::Rejected,
        RequestStatus::Sourcing => pb::RequestStatus::Sourcing,
        RequestStatus::Shipped => pb::RequestStatus::Shipped,
        RequestStatus::Delivered => pb::RequestStatus::Delivered,
        RequestStatus::InService => pb::RequestStatus::InService,
        RequestStatus::Completed => pb::RequestStatus::Completed,
        RequestStatus::Closed => pb::RequestStatus::Closed,
        RequestStatus::Cancelled => pb::RequestStatus::Cancelled,
    }
}

fn status_from_proto(s: pb::RequestStatus) -> Option<RequestStatus> {
    RequestStatus::ALL
        .into_iter()
        .find(|d| status_to_proto(*d) == s)
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

pub fn to_proto(r: &StoredRequest) -> pb::ServiceRequest {
    let q = &r.request;
    let channel = match q.channel {
        Channel::Hotline => common::Channel::Hotline,
        Channel::Web => common::Channel::Web,
        Channel::Email => common::Channel::Email,
        Channel::Branch => common::Channel::Branch,
    };
    let kind = match q.kind {
        RequestKind::Replacement => common::RequestKind::Replacement,
        RequestKind::Repair => common::RequestKind::Repair,
        RequestKind::Return => common::RequestKind::Return,
        RequestKind::Exchange => common::RequestKind::Exchange,
        RequestKind::Installation => common::RequestKind::Installation,
    };
    let urgency = match q.urgency {
        Urgency::Low => common::Urgency::Low,
        Urgency::Normal => common::Urgency::Normal,
        Urgency::High => common::Urgency::High,
        Urgency::Critical => common::Urgency::Critical,
    };
    let region = match q.customer.region {
        Region::Urban => common::Region::Urban,
        Region::Suburban => common::Region::Suburban,
        Region::Remote => common::Region::Remote,
    };
    pb::ServiceRequest {
        request_no: r.request_no.to_string(),
        status: status_to_proto(r.status) as i32,
        branch: q.branch.to_string(),
        channel: channel as i32,
        kind: kind as i32,
        urgency: urgency as i32,
        customer: Some(common::Customer {
            name: q.customer.name.clone(),
            phone: q.customer.phone.display.clone(),
            address: q.customer.address.clone(),
            region: region as i32,
            email: q.customer.email.clone(),
        }),
        product: Some(common::Product {
            category: q.product.category.clone(),
            model: q.product.model.clone(),
            serial: q.product.serial.clone(),
            purchase_date: date(q.product.purchase_date),
            invoice_no: q.product.invoice_no.clone(),
            invoice_date: date(q.product.invoice_date),
            receipt_date: date(q.product.receipt_date),
            factory_date: date(q.product.factory_date),
            service_contract_no: q.product.service_contract_no.clone(),
        }),
        fault_description: q.fault_description.clone(),
        photos: q.photos.clone(),
        parts: q
            .parts
            .iter()
            .map(|p| common::PartLine {
                part_no: p.part_no.clone(),
                quantity: p.quantity,
            })
            .collect(),
        created_at: Some(timestamp(r.created_at)),
        updated_at: Some(timestamp(r.updated_at)),
        status_reason: r.status_reason.clone(),
        submitted_by: r.submitted_by.clone(),
        misuse_suspected: q.misuse_suspected,
        last_step: r.last_step.clone(),
        last_step_at: Some(timestamp(r.last_step_at)),
        stuck: None,
        notifications: Some(prefs_to_proto(&q.notify)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_photo_record_must_point_under_its_own_request_and_name_every_bad_field() {
        let no = RequestNo::parse("AS-2611-SH01-000042").unwrap();
        let id = uuid::Uuid::new_v4();
        let good = pb::AddPhotoRequest {
            request_no: no.to_string(),
            idempotency_key: "key-1".into(),
            photo: Some(pb::Photo {
                photo_id: id.to_string(),
                content_type: "image/jpeg".into(),
                size_bytes: 1234,
                sha256: "ab".repeat(32),
                object_key: format!("requests/{no}/{id}.jpg"),
                thumbnail_key: format!("requests/{no}/{id}.thumb.jpg"),
                width: 640,
                height: 480,
                ..Default::default()
            }),
        };
        let (p, key) = parse_photo(&good, &no).unwrap();
        assert_eq!((p.photo_id, key.as_str(), p.width), (id, "key-1", 640));

        let mut bad = good.clone();
        let photo = bad.photo.as_mut().unwrap();
        photo.object_key = format!("requests/AS-2611-BJ02-000001/{id}.jpg");
        photo.thumbnail_key = format!("requests/{no}/../x.jpg");
        photo.content_type = "text/plain".into();
        photo.size_bytes = 11 * 1024 * 1024;
        bad.idempotency_key = String::new();
        let Err(Error::Invalid(v)) = parse_photo(&bad, &no) else {
            panic!("refused")
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        for f in [
            "idempotency_key",
            "photo.content_type",
            "photo.size_bytes",
            "photo.object_key",
            "photo.thumbnail_key",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
    }

    #[test]
    fn page_tokens_round_trip_and_garbage_is_refused() {
        let at = DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap();
        let t = page_token(at, "AS-2611-SH01-000042");
        assert_eq!(
            parse_page_token(&t).unwrap(),
            (at, "AS-2611-SH01-000042".to_owned())
        );
        assert!(parse_page_token("zz").is_err());
        assert!(parse_page_token("").is_err());
    }
}
