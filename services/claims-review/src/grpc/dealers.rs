//! The dealer RPCs: who may call them, their requests parsed (every bad field named at once),
//! the answers mapped.

use aftersales_platform::auth::Role;
use aftersales_platform::ids::{BranchCode, PartNo, Serial};
use aftersales_platform::paging;
use aftersales_platform::proto::claims::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text, required_text};
use chrono::NaiveDate;
use tonic::{Request, Response, Status};

use super::{Api, invalid};
use crate::domain::dealer::{Dealer, DealerKind, LineInput, PartUsed, Terms, period_start};
use crate::mapping::dealers::{batch_to_proto, dealer_to_proto, statement_to_proto};
use crate::mapping::product_from_proto;
use crate::service::dealers::SubmitBatch;

/// Head office registers dealers (admin always may; nobody else).
const REGISTRARS: &[Role] = &[];
/// Who reads dealers, batches and statements: head office and branch staff within their
/// branch (the warehouse for the dealer's branch and terms when it ships an advance exchange),
/// a dealer only its own.
const DEALER_READERS: &[Role] = &[
    Role::Reviewer,
    Role::Analyst,
    Role::BranchAgent,
    Role::Warehouse,
    Role::Dealer,
];
/// Who submits a batch: the dealer itself (admin on its behalf).
const CLAIMANTS: &[Role] = &[Role::Dealer];

/// Most lines in one batch.
pub const MAX_LINES: usize = 500;
/// Most parts on one line.
const MAX_PARTS: usize = 20;
/// Longest labour time a line may claim (a working week).
const MAX_LABOUR_MINUTES: u32 = 5 * 8 * 60;
const DEFAULT_PAGE_SIZE: u32 = 50;

/// `D-SH-0001`: upper-case letters, digits and '-', 2–32, starting with a letter.
pub fn dealer_code(s: &str) -> Result<String, String> {
    let t = s.trim().to_ascii_uppercase();
    let ok = (2..=32).contains(&t.len())
        && t.starts_with(|c: char| c.is_ascii_uppercase())
        && t.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(t)
    } else {
        Err("must be 2–32 of A–Z, 0–9 and '-', starting with a letter, e.g. D-SH-0001".into())
    }
}

fn terms(v: &mut Violations, t: Option<&pb::DealerTerms>) -> Option<Terms> {
    let Some(t) = t else {
        v.add("dealer.terms", "is required: the contract terms");
        return None;
    };
    if t.labour_rate_per_hour_minor < 0 {
        v.add(
            "dealer.terms.labour_rate_per_hour_minor",
            "must not be negative",
        );
    }
    if t.parts_margin_bp > 10_000 {
        v.add(
            "dealer.terms.parts_margin_bp",
            "must be at most 10000 (100 %)",
        );
    }
    if !(1..=365).contains(&t.old_part_return_days) {
        v.add(
            "dealer.terms.old_part_return_days",
            "must be between 1 and 365",
        );
    }
    if t.payment_days > 365 {
        v.add("dealer.terms.payment_days", "must be at most 365");
    }
    if !(1..=365).contains(&t.advance_exchange_return_days) {
        v.add(
            "dealer.terms.advance_exchange_return_days",
            "must be between 1 and 365",
        );
    }
    if t.default_labour_minutes == 0 {
        v.add(
            "dealer.terms.default_labour_minutes",
            "must be greater than 0",
        );
    }
    let mut standard = std::collections::BTreeMap::new();
    for (category, minutes) in &t.standard_labour_minutes {
        let key = category.trim().to_lowercase();
        // A category is a product category's name: printable, at most 64 characters (Postgres
        // keeps the terms as JSON, which cannot hold a NUL).
        let printable = key.chars().count() <= 64 && !key.chars().any(char::is_control);
        if key.is_empty() || !printable || *minutes == 0 {
            let shown: String = category
                .chars()
                .filter(|c| !c.is_control())
                .take(64)
                .collect();
            v.add(
                format!("dealer.terms.standard_labour_minutes.{shown}"),
                "needs a category (printable, at most 64 characters) and minutes greater than 0",
            );
        }
        standard.insert(key, *minutes);
    }
    Some(Terms {
        labour_rate_per_hour_minor: t.labour_rate_per_hour_minor,
        standard_labour_minutes: standard,
        default_labour_minutes: t.default_labour_minutes,
        parts_margin_bp: t.parts_margin_bp,
        old_part_return_days: t.old_part_return_days,
        payment_days: t.payment_days,
        advance_exchange_return_days: t.advance_exchange_return_days,
    })
}

pub fn new_dealer(m: &pb::CreateDealerRequest) -> Result<Dealer, Invalid> {
    let mut v = Violations::new();
    let Some(d) = m.dealer.as_ref() else {
        return Err(Invalid::field("dealer", "is required"));
    };
    let code = v.check("dealer.code", dealer_code(&d.code));
    let name = v.check("dealer.name", required_text(&d.name, 200));
    let branch = v.check("dealer.branch", BranchCode::parse(&d.branch));
    let kind = match pb::DealerKind::try_from(d.kind) {
        Ok(pb::DealerKind::Dealer) => Some(DealerKind::Dealer),
        Ok(pb::DealerKind::Agent) => Some(DealerKind::Agent),
        _ => {
            v.add("dealer.kind", "must be DEALER or AGENT");
            None
        }
    };
    let terms = terms(&mut v, d.terms.as_ref());
    v.done(|| {
        Some(Dealer {
            code: code?,
            name: name?,
            kind: kind?,
            branch: branch?.into_string(),
            terms: terms?,
            created_at: chrono::Utc::now(),
        })
    })
}

fn line(
    v: &mut Violations,
    at: &str,
    l: &pb::DealerClaimLineInput,
    today: NaiveDate,
) -> Option<LineInput> {
    let product = match l.product.as_ref() {
        None => {
            v.add(format!("{at}.product"), "is required");
            None
        }
        Some(p) => {
            let parsed = v.check(
                format!("{at}.product"),
                product_from_proto(p, &format!("{at}.product")),
            );
            if p.category.trim().is_empty() {
                v.add(format!("{at}.product.category"), "is required");
            }
            let serial = v.check(format!("{at}.product.serial"), Serial::parse(&p.serial));
            match (parsed, serial) {
                (Some(mut prod), Some(s)) => {
                    prod.serial = s.into_string();
                    prod.category = prod.category.trim().to_lowercase();
                    Some(prod)
                }
                _ => None,
            }
        }
    };
    let fault = v.check(
        format!("{at}.fault_description"),
        required_text(&l.fault_description, 2000),
    );
    if l.labour_minutes > MAX_LABOUR_MINUTES {
        v.add(
            format!("{at}.labour_minutes"),
            format!("must be at most {MAX_LABOUR_MINUTES}"),
        );
    }
    let repaired_on = match NaiveDate::parse_from_str(l.repaired_on.trim(), "%Y-%m-%d") {
        Ok(d) if d <= today => Some(d),
        Ok(d) => {
            v.add(format!("{at}.repaired_on"), format!("{d} is in the future"));
            None
        }
        Err(_) => {
            v.add(
                format!("{at}.repaired_on"),
                "is required: the repair day YYYY-MM-DD",
            );
            None
        }
    };
    if l.parts.len() > MAX_PARTS {
        v.add(
            format!("{at}.parts"),
            format!("at most {MAX_PARTS} parts per line"),
        );
    }
    let mut parts = Vec::new();
    for (i, p) in l.parts.iter().enumerate() {
        let pat = format!("{at}.parts[{i}]");
        let part_no = v.check(format!("{pat}.part_no"), PartNo::parse(&p.part_no));
        if p.quantity == 0 {
            v.add(format!("{pat}.quantity"), "must be at least 1");
        }
        let faulty = v.check(
            format!("{pat}.faulty_serial"),
            Serial::parse(&p.faulty_serial),
        );
        let new_serial = v.check(
            format!("{pat}.new_serial"),
            optional_text(&p.new_serial, 64),
        );
        if let (Some(part_no), Some(faulty), Some(new_serial)) = (part_no, faulty, new_serial) {
            parts.push(PartUsed {
                part_no: part_no.into_string(),
                quantity: p.quantity,
                faulty_serial: faulty.into_string(),
                new_serial,
            });
        }
    }
    Some(LineInput {
        product: product?,
        fault_description: fault?,
        parts,
        labour_minutes: l.labour_minutes,
        repaired_on: repaired_on?,
    })
}

pub fn submit(m: &pb::SubmitDealerBatchRequest, today: NaiveDate) -> Result<SubmitBatch, Invalid> {
    let mut v = Violations::new();
    let code = v.check("dealer_code", dealer_code(&m.dealer_code));
    let key = m.idempotency_key.trim();
    if key.is_empty() || key.chars().count() > 128 {
        v.add("idempotency_key", "is required (at most 128 characters)");
    }
    if m.lines.is_empty() {
        v.add("lines", "must hold at least one repair");
    }
    if m.lines.len() > MAX_LINES {
        v.add("lines", format!("at most {MAX_LINES} lines per batch"));
    }
    let mut lines = Vec::new();
    for (i, l) in m.lines.iter().enumerate().take(MAX_LINES) {
        if let Some(l) = line(&mut v, &format!("lines[{i}]"), l, today) {
            lines.push(l);
        }
    }
    v.done(|| {
        Some(SubmitBatch {
            dealer_code: code?,
            idempotency_key: key.to_owned(),
            lines,
        })
    })
}

fn period(s: &str) -> Result<String, String> {
    period_start(s)
        .map(|_| s.trim().to_owned())
        .ok_or_else(|| "must be a month YYYY-MM".into())
}

impl Api {
    pub(super) async fn create_dealer_rpc(
        &self,
        request: Request<pb::CreateDealerRequest>,
    ) -> Result<Response<pb::CreateDealerResponse>, Status> {
        let caller = self.authorize(&request, REGISTRARS)?;
        let d = new_dealer(request.get_ref()).map_err(invalid)?;
        let d = self.claims.create_dealer(&caller, d).await?;
        Ok(Response::new(pb::CreateDealerResponse {
            dealer: Some(dealer_to_proto(&d)),
        }))
    }

    pub(super) async fn get_dealer_rpc(
        &self,
        request: Request<pb::GetDealerRequest>,
    ) -> Result<Response<pb::GetDealerResponse>, Status> {
        let caller = self.authorize(&request, DEALER_READERS)?;
        let code =
            dealer_code(&request.get_ref().code).map_err(|e| invalid(Invalid::field("code", e)))?;
        let d = self.claims.dealer(&caller, &code).await?;
        Ok(Response::new(pb::GetDealerResponse {
            dealer: Some(dealer_to_proto(&d)),
        }))
    }

    pub(super) async fn list_dealers_rpc(
        &self,
        request: Request<pb::ListDealersRequest>,
    ) -> Result<Response<pb::ListDealersResponse>, Status> {
        let caller = self.authorize(&request, DEALER_READERS)?;
        let m = request.get_ref();
        let mut v = Violations::new();
        let size = v.check(
            "page_size",
            paging::page_size(m.page_size, DEFAULT_PAGE_SIZE, self.max_page_size),
        );
        let branch = if m.branch.trim().is_empty() {
            Some(None)
        } else {
            v.check("branch", BranchCode::parse(&m.branch))
                .map(|b| Some(b.into_string()))
        };
        let after = v.check(
            "page_token",
            paging::decode::<String>(&m.page_token).map(Option::unwrap_or_default),
        );
        let (size, branch, after) = v.done(|| Some((size?, branch?, after?))).map_err(invalid)?;
        let (rows, next) = self.claims.dealers(&caller, branch, after, size).await?;
        Ok(Response::new(pb::ListDealersResponse {
            dealers: rows.iter().map(dealer_to_proto).collect(),
            next_page_token: next.map(|k| paging::encode(&k)).unwrap_or_default(),
        }))
    }

    pub(super) async fn submit_dealer_batch_rpc(
        &self,
        request: Request<pb::SubmitDealerBatchRequest>,
    ) -> Result<Response<pb::SubmitDealerBatchResponse>, Status> {
        let caller = self.authorize(&request, CLAIMANTS)?;
        let cmd = submit(request.get_ref(), self.claims.today()).map_err(invalid)?;
        let (b, replayed) = self.claims.submit_batch(&caller, cmd).await?;
        Ok(Response::new(pb::SubmitDealerBatchResponse {
            batch: Some(batch_to_proto(&b)),
            replayed,
        }))
    }

    pub(super) async fn get_dealer_batch_rpc(
        &self,
        request: Request<pb::GetDealerBatchRequest>,
    ) -> Result<Response<pb::GetDealerBatchResponse>, Status> {
        let caller = self.authorize(&request, DEALER_READERS)?;
        let id = uuid::Uuid::parse_str(request.get_ref().batch_id.trim())
            .map_err(|_| invalid(Invalid::field("batch_id", "must be a batch id (UUID)")))?;
        let b = self.claims.dealer_batch(&caller, id).await?;
        Ok(Response::new(pb::GetDealerBatchResponse {
            batch: Some(batch_to_proto(&b)),
        }))
    }

    pub(super) async fn get_statement_rpc(
        &self,
        request: Request<pb::GetStatementRequest>,
    ) -> Result<Response<pb::GetStatementResponse>, Status> {
        let caller = self.authorize(&request, DEALER_READERS)?;
        let m = request.get_ref();
        let mut v = Violations::new();
        let code = v.check("dealer_code", dealer_code(&m.dealer_code));
        let period = v.check("period", period(&m.period));
        let (code, period) = v.done(|| Some((code?, period?))).map_err(invalid)?;
        let s = self.claims.statement(&caller, &code, &period).await?;
        Ok(Response::new(pb::GetStatementResponse {
            statement: Some(statement_to_proto(&s)),
        }))
    }
}
