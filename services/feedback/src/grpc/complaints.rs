//! Complaints: parsing the requests into commands (sources and report channels checked against
//! the policy's lists).

use aftersales_platform::ids::{BranchCode, PartNo, Phone, RequestNo, Serial};
use aftersales_platform::proto::common::v1 as common;
use aftersales_platform::proto::feedback::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use super::{Paged, instant, optional, page_desc};
use crate::domain::Policy;
use crate::domain::visit::Customer;
use crate::service::complaints::{
    EscalateComplaint, ListComplaints, OpenComplaint, ResolveComplaint,
};
use crate::wire;

fn one_of(
    v: &mut Violations,
    field: &str,
    s: &str,
    list: &std::collections::BTreeSet<String>,
) -> Option<String> {
    let t = s.trim().to_ascii_lowercase();
    if t.is_empty() {
        v.add(field, "is required");
        return None;
    }
    if !list.contains(&t) {
        v.add(
            field,
            format!(
                "must be one of {}",
                list.iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        return None;
    }
    Some(t)
}

fn customer(v: &mut Violations, c: &common::Customer) -> Option<Customer> {
    let mut inner = Violations::new();
    let name = inner.check("name", optional_text(&c.name, 200));
    if !c.phone.trim().is_empty() {
        inner.check("phone", Phone::parse(&c.phone));
    }
    let address = inner.check("address", optional_text(&c.address, 500));
    let email = inner.check("email", optional_text(&c.email, 200));
    match inner.finish() {
        Ok(()) => {
            let mut out = wire::customer_from(c);
            out.name = name.unwrap_or_default();
            out.address = address.unwrap_or_default();
            out.email = email.unwrap_or_default();
            Some(out)
        }
        Err(e) => {
            v.nest("customer", e);
            None
        }
    }
}

impl TryFrom<(&pb::OpenComplaintRequest, &Policy)> for OpenComplaint {
    type Error = Invalid;

    fn try_from((m, policy): (&pb::OpenComplaintRequest, &Policy)) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let request_no = v.check("request_no", optional(&m.request_no, RequestNo::parse));
        let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
        if m.request_no.trim().is_empty() && m.branch.trim().is_empty() {
            v.add(
                "branch",
                "is required when the complaint concerns no request",
            );
        }
        let category = match wire::category_from(m.category) {
            Ok(Some(c)) => Some(c),
            Ok(None) => {
                v.add("category", "is required");
                None
            }
            Err(_) => {
                v.add("category", "is not a complaint category");
                None
            }
        };
        let severity = match wire::severity_from(m.severity) {
            Ok(Some(s)) => Some(s),
            Ok(None) => {
                v.add("severity", "is required: minor, major or serious");
                None
            }
            Err(_) => {
                v.add("severity", "must be one of minor, major, serious");
                None
            }
        };
        let description = v.check("description", required_text(&m.description, 4000));
        let customer = match &m.customer {
            Some(c) => customer(&mut v, c).map(Some),
            None => Some(None),
        };
        let technician_id = v.check("technician_id", optional_text(&m.technician_id, 64));
        // "survey" is RecordSurvey's own source.
        let mut sources = policy.sources.clone();
        sources.remove("survey");
        let source = one_of(&mut v, "source", &m.source, &sources);
        let serial = v.check("serial", optional(&m.serial, Serial::parse));
        let model = v.check("product_model", optional_text(&m.product_model, 64));
        let mut part_nos = Vec::new();
        for (i, p) in m.part_nos.iter().enumerate() {
            if let Some(p) = v.check(format!("part_nos[{i}]"), PartNo::parse(p)) {
                part_nos.push(p.into_string());
            }
        }
        v.done(|| {
            Some(OpenComplaint {
                idempotency_key: key?,
                request_no: request_no?.map(RequestNo::into_string),
                branch: branch?.map(BranchCode::into_string),
                category: category?,
                severity: severity?,
                description: description?,
                customer: customer?,
                technician_id: technician_id?,
                source: source?,
                serial: serial?.map(Serial::into_string).unwrap_or_default(),
                product_model: model?,
                part_nos,
            })
        })
    }
}

impl TryFrom<&pb::EscalateComplaintRequest> for EscalateComplaint {
    type Error = Invalid;

    fn try_from(m: &pb::EscalateComplaintRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let id = v.check("complaint_id", required_text(&m.complaint_id, 64));
        let reason = v.check("reason", required_text(&m.reason, 1000));
        let assignee = v.check("assignee", optional_text(&m.assignee, 100));
        v.done(|| {
            Some(EscalateComplaint {
                idempotency_key: key?,
                complaint_id: id?.to_ascii_uppercase(),
                reason: reason?,
                assignee: Some(assignee?).filter(|a| !a.is_empty()),
            })
        })
    }
}

impl TryFrom<(&pb::ResolveComplaintRequest, &Policy)> for ResolveComplaint {
    type Error = Invalid;

    fn try_from((m, policy): (&pb::ResolveComplaintRequest, &Policy)) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let id = v.check("complaint_id", required_text(&m.complaint_id, 64));
        let resolution = v.check("resolution", required_text(&m.resolution, 4000));
        let reported_via = one_of(
            &mut v,
            "reported_via",
            &m.reported_via,
            &policy.report_channels,
        );
        v.done(|| {
            Some(ResolveComplaint {
                idempotency_key: key?,
                complaint_id: id?.to_ascii_uppercase(),
                resolution: resolution?,
                reported_via: reported_via?,
            })
        })
    }
}

impl TryFrom<Paged<'_, pb::ListComplaintsRequest>> for ListComplaints {
    type Error = Invalid;

    fn try_from(p: Paged<'_, pb::ListComplaintsRequest>) -> Result<Self, Invalid> {
        let m = p.msg;
        let mut v = Violations::new();
        let branch = v.check("branch", optional(&m.branch, BranchCode::parse));
        let mut statuses = Vec::new();
        for (i, s) in m.statuses.iter().enumerate() {
            match wire::complaint_status_from(*s) {
                Ok(Some(s)) => statuses.push(s),
                _ => v.add(
                    format!("statuses[{i}]"),
                    "must be one of open, escalated, resolved",
                ),
            }
        }
        let category = match wire::category_from(m.category) {
            Ok(c) => c,
            Err(_) => {
                v.add("category", "is not a complaint category");
                None
            }
        };
        let routed_to = match wire::department_from(m.routed_to) {
            Ok(d) => d,
            Err(_) => {
                v.add("routed_to", "is not a department");
                None
            }
        };
        let min_severity = match wire::severity_from(m.min_severity) {
            Ok(s) => s,
            Err(_) => {
                v.add("min_severity", "must be one of minor, major, serious");
                None
            }
        };
        let request_no = v.check("request_no", optional(&m.request_no, RequestNo::parse));
        let (from, to) = m
            .opened
            .as_ref()
            .map(|r| (instant(&r.from), instant(&r.to)))
            .unwrap_or((None, None));
        let page = page_desc(&mut v, m.page_size, &m.page_token, p.max_page_size);
        v.done(|| {
            let page = page?;
            Some(ListComplaints {
                branch: branch?.map(BranchCode::into_string),
                statuses,
                category,
                routed_to,
                min_severity,
                request_no: request_no?.map(RequestNo::into_string),
                opened_from: from,
                opened_to: to,
                page_size: page.0,
                before: page.1,
            })
        })
    }
}
