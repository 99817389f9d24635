//! The register: parsing registrations, status changes and lists.

use aftersales_platform::ids::Phone;
use aftersales_platform::proto::procurement::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};

use super::{Parse, optional, page};
use crate::domain::supplier::Contract;
use crate::domain::{PartNo, SupplierId, optional_date};
use crate::service::suppliers::QualificationInput;
use crate::service::{RegisterSupplier, SetStatus, SupplierQuery};
use crate::wire;

/// More parts than a supplier's qualification lists; a bigger list is a mistake.
const MAX_PARTS: usize = 1_000;

fn bp(v: &mut Violations, field: &str, value: u32) -> u32 {
    if value > 10_000 {
        v.add(field, "must be at most 10000 (basis points)");
    }
    value
}

fn email(s: &str) -> Result<String, String> {
    let t = optional_text(s, 200)?;
    if !t.is_empty() && (!t.contains('@') || t.contains(char::is_whitespace)) {
        return Err("is not an e-mail address".into());
    }
    Ok(t)
}

fn contract(v: &mut Violations, c: &pb::SupplierContract) -> Option<Contract> {
    let f = |n: &str| format!("supplier.contract.{n}");
    let contract_no = v.check(f("contract_no"), required_text(&c.contract_no, 64));
    let texts: Vec<Option<String>> = [
        ("specification", &c.specification),
        ("quality_standard", &c.quality_standard),
        ("price_terms", &c.price_terms),
        ("payment_terms", &c.payment_terms),
        ("after_sales_terms", &c.after_sales_terms),
    ]
    .into_iter()
    .map(|(n, t)| v.check(f(n), optional_text(t, 2_000)))
    .collect();
    let from = v.check(f("valid_from_date"), optional_date(&c.valid_from_date));
    let until = v.check(f("valid_until_date"), optional_date(&c.valid_until_date));
    if let (Some(Some(a)), Some(Some(b))) = (from, until)
        && b < a
    {
        v.add(f("valid_until_date"), format!("must not be before {a}"));
    }
    if c.delivery_period_days > 365 {
        v.add(f("delivery_period_days"), "must be at most 365");
    }
    let [spec, quality, price, payment, after_sales] =
        <[Option<String>; 5]>::try_from(texts).ok()?;
    Some(Contract {
        contract_no: contract_no?,
        specification: spec?,
        quality_standard: quality?,
        delivery_period_days: c.delivery_period_days,
        price_terms: price?,
        payment_terms: payment?,
        after_sales_terms: after_sales?,
        valid_from: from?,
        valid_until: until?,
    })
}

impl TryFrom<&pb::RegisterSupplierRequest> for RegisterSupplier {
    type Error = Invalid;

    fn try_from(m: &pb::RegisterSupplierRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let key = v.check("idempotency_key", required_text(&m.idempotency_key, 200));
        let Some(s) = &m.supplier else {
            v.add("supplier", "is required");
            return Err(Invalid(v.into_vec()));
        };
        let supplier_id = v.check(
            "supplier.supplier_id",
            optional(&s.supplier_id, SupplierId::parse),
        );
        let name = v.check("supplier.name", required_text(&s.name, 200));
        let contact_name = v.check("supplier.contact_name", optional_text(&s.contact_name, 200));
        let phone = v.check(
            "supplier.phone",
            optional(&s.phone, |p| Phone::parse(p).map(|p| p.as_str().to_owned())),
        );
        let mail = v.check("supplier.email", email(&s.email));
        let address = v.check("supplier.address", optional_text(&s.address, 500));
        let tax_id = v.check("supplier.tax_id", optional_text(&s.tax_id, 64));
        if s.part_nos.is_empty() {
            v.add(
                "supplier.part_nos",
                "at least one part the supplier is qualified for is required",
            );
        }
        if s.part_nos.len() > MAX_PARTS {
            v.add("supplier.part_nos", format!("at most {MAX_PARTS} parts"));
        }
        let mut part_nos = Vec::new();
        for (i, p) in s.part_nos.iter().enumerate() {
            if let Some(p) = v.check(format!("supplier.part_nos[{i}]"), PartNo::parse(p)) {
                part_nos.push(p);
            }
        }
        part_nos.sort();
        part_nos.dedup();
        if s.lead_time_days > 365 {
            v.add("supplier.lead_time_days", "must be at most 365");
        }
        let mut certifications = Vec::new();
        for (i, c) in s.certifications.iter().enumerate() {
            if let Some(c) = v.check(
                format!("supplier.certifications[{i}]"),
                optional_text(c, 200),
            ) && !c.is_empty()
            {
                certifications.push(c);
            }
        }
        let contract = match &s.contract {
            Some(c) => contract(&mut v, c).map(Some),
            None => Some(None),
        };
        let qualification = match &s.qualification {
            None => {
                v.add(
                    "supplier.qualification",
                    "is required: a supplier is evaluated before it is admitted",
                );
                None
            }
            Some(q) => {
                let f = |n: &str| format!("supplier.qualification.{n}");
                let evaluated_on = v.check(f("evaluated_on"), optional_date(&q.evaluated_on));
                let note = v.check(f("note"), optional_text(&q.note, 2_000));
                Some(QualificationInput {
                    reputation_bp: bp(&mut v, &f("reputation_bp"), q.reputation_bp),
                    quality_bp: bp(&mut v, &f("quality_bp"), q.quality_bp),
                    capacity_bp: bp(&mut v, &f("capacity_bp"), q.capacity_bp),
                    price_bp: bp(&mut v, &f("price_bp"), q.price_bp),
                    evaluated_on: evaluated_on.flatten(),
                    note: note.unwrap_or_default(),
                })
            }
        };
        v.done(|| {
            Some(RegisterSupplier {
                idempotency_key: key?,
                supplier_id: supplier_id?,
                name: name?,
                contact_name: contact_name?,
                phone: phone?.unwrap_or_default(),
                email: mail?,
                address: address?,
                tax_id: tax_id?,
                part_nos,
                lead_time_days: s.lead_time_days,
                certifications,
                contract: contract?,
                qualification: qualification?,
            })
        })
    }
}

impl TryFrom<&pb::SetSupplierStatusRequest> for SetStatus {
    type Error = Invalid;

    fn try_from(m: &pb::SetSupplierStatusRequest) -> Result<Self, Invalid> {
        let mut v = Violations::new();
        let id = v.check("supplier_id", SupplierId::parse(&m.supplier_id));
        let status = v.check(
            "status",
            wire::supplier_status_from(m.status)
                .and_then(|s| s.ok_or_else(|| "is required".to_owned())),
        );
        let reason = v.check("reason", required_text(&m.reason, 1_000));
        let fix_by = v.check("fix_by_date", optional_date(&m.fix_by_date));
        v.done(|| {
            Some(SetStatus {
                supplier_id: id?,
                status: status?,
                reason: reason?,
                fix_by: fix_by?,
            })
        })
    }
}

impl TryFrom<Parse<'_, pb::ListSuppliersRequest>> for SupplierQuery {
    type Error = Invalid;

    fn try_from(p: Parse<'_, pb::ListSuppliersRequest>) -> Result<Self, Invalid> {
        let m = p.msg;
        let mut v = Violations::new();
        let mut statuses = Vec::new();
        for (i, s) in m.statuses.iter().enumerate() {
            if let Some(Some(s)) = v.check(format!("statuses[{i}]"), wire::supplier_status_from(*s))
            {
                statuses.push(s);
            }
        }
        let part_no = v.check("part_no", optional(&m.part_no, PartNo::parse));
        let page = page(&mut v, m.page_size, &m.page_token, 50, p.max_page_size);
        v.done(|| {
            Some(SupplierQuery {
                statuses,
                part_no: part_no?,
                page: page?,
            })
        })
    }
}
