//! Quotes per part and supplier, and their comparison by the documented rule.

use std::collections::HashMap;

use aftersales_platform::db::is_unique_violation;
use aftersales_platform::validate::Violations;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde::Serialize;

use super::{Procurement, fingerprint, key_reused, vanished};
use crate::domain::rule::{self, Ask, Candidate, Choice};
use crate::domain::{PartNo, Price, Quantity, SupplierId, SupplierStatus};
use crate::error::Error;
use crate::store::quotes::{self, Offer, Quote};
use crate::store::suppliers;

/// A supplier's quote for a part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubmitQuote {
    pub idempotency_key: String,
    pub supplier_id: SupplierId,
    pub part_no: PartNo,
    pub unit_price: Price,
    /// At least 1.
    pub min_quantity: u32,
    /// `None`: the supplier's default lead time.
    pub lead_time_days: Option<u32>,
    /// `None`: today.
    pub valid_from: Option<NaiveDate>,
    pub valid_until: NaiveDate,
    pub supplier_ref: String,
    pub specification: String,
    pub freight_minor: i64,
}

/// What the comparison is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompareQuotes {
    pub part_no: PartNo,
    pub quantity: Quantity,
    pub need_by: Option<NaiveDate>,
    /// `None`: today.
    pub as_of: Option<NaiveDate>,
}

/// The rule's ranking with the quotes behind it.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub choice: Choice,
    pub quotes: HashMap<String, Quote>,
    pub rule: String,
}

impl Procurement {
    /// Records a quote. Every bad field is named at once and nothing is written: a supplier not
    /// in the register, a part it is not qualified for, a validity already over. The same
    /// idempotency key returns the first quote. Shortages waiting for the part are then ordered
    /// if the quote makes one eligible.
    pub async fn submit_quote(&self, cmd: SubmitQuote) -> Result<Quote, Error> {
        let print = fingerprint(&cmd);
        if let Some(q) = quotes::find_by_idempotency_key(&self.db, &cmd.idempotency_key).await? {
            return replay(q, &print);
        }
        let today = self.today();
        let mut v = Violations::new();
        let valid_from = cmd.valid_from.unwrap_or(today);
        if cmd.valid_until < today {
            v.add(
                "quote.valid_until_date",
                format!(
                    "{} is in the past: the quote would never be current",
                    cmd.valid_until
                ),
            );
        } else if cmd.valid_until < valid_from {
            v.add(
                "quote.valid_until_date",
                format!("must not be before valid_from_date {valid_from}"),
            );
        }
        let supplier = suppliers::get(&self.db, cmd.supplier_id.as_str()).await?;
        match &supplier {
            None => v.add(
                "quote.supplier_id",
                format!("no supplier {} in the register", cmd.supplier_id),
            ),
            Some(s) if !s.part_nos.iter().any(|p| p == cmd.part_no.as_str()) => v.add(
                "quote.part_no",
                self.not_supplied(&s.supplier_id, &cmd.part_no).await?,
            ),
            Some(_) => {}
        }
        v.finish()?;
        let Some(supplier) = supplier else {
            return Err(vanished("supplier"));
        };
        if supplier.status == SupplierStatus::Terminated {
            return Err(Error::precondition(format!(
                "the relationship with {} ended: it no longer quotes",
                supplier.supplier_id
            )));
        }
        let quote = Quote {
            quote_id: format!("QT-{}", uuid::Uuid::now_v7().simple()),
            idempotency_key: cmd.idempotency_key.clone(),
            fingerprint: print.clone(),
            supplier_id: supplier.supplier_id.clone(),
            part_no: cmd.part_no.as_str().to_owned(),
            currency: self.policy.currency.clone(),
            unit_price_minor: cmd.unit_price.minor(),
            min_quantity: cmd.min_quantity.max(1),
            lead_time_days: cmd.lead_time_days.unwrap_or(supplier.lead_time_days),
            valid_from,
            valid_until: cmd.valid_until,
            supplier_ref: cmd.supplier_ref.clone(),
            specification: cmd.specification.clone(),
            freight_minor: cmd.freight_minor,
            submitted_at: self.now(),
        };
        let txn = self.db.begin().await?;
        if let Err(e) = quotes::insert(&txn, &quote).await {
            if is_unique_violation(&e) {
                drop(txn);
                let q = quotes::find_by_idempotency_key(&self.db, &cmd.idempotency_key)
                    .await?
                    .ok_or_else(|| vanished("quote"))?;
                return replay(q, &print);
            }
            return Err(e.into());
        }
        txn.commit().await?;
        self.source_parts(std::slice::from_ref(&quote.part_no))
            .await;
        Ok(quote)
    }

    /// Why `supplier_id` cannot quote or supply `part_no`, for the field's violation.
    pub(crate) async fn not_supplied(
        &self,
        supplier_id: &str,
        part_no: &PartNo,
    ) -> Result<String, Error> {
        Ok(
            if suppliers::part_known(&self.db, part_no.as_str()).await? {
                format!("{supplier_id} is not qualified to supply {part_no}")
            } else {
                format!(
                    "{part_no} is not a part procurement buys: no supplier in the register is qualified for it"
                )
            },
        )
    }

    /// The current quotes of the part ranked by the rule.
    pub async fn compare_quotes(&self, cmd: CompareQuotes) -> Result<Comparison, Error> {
        if !suppliers::part_known(&self.db, cmd.part_no.as_str()).await? {
            return Err(Error::invalid(
                "part_no",
                format!(
                    "{} is not a part procurement buys: no supplier in the register is qualified for it",
                    cmd.part_no
                ),
            ));
        }
        let as_of = cmd.as_of.unwrap_or_else(|| self.today());
        let offers = quotes::current_offers(&self.db, cmd.part_no.as_str(), as_of).await?;
        let from = if cmd.as_of.is_some() {
            self.start_of(as_of)
        } else {
            self.clock.now()
        };
        let choice = self.rank(
            &offers,
            Ask {
                quantity: cmd.quantity.get(),
                as_of,
                need_by: cmd.need_by,
            },
            from,
        );
        Ok(Comparison {
            choice,
            quotes: offers
                .into_iter()
                .map(|o| (o.quote.quote_id.clone(), o.quote))
                .collect(),
            rule: rule::describe(&self.policy),
        })
    }

    /// The rule over `offers`, arrivals counted in working days from `from`.
    pub(crate) fn rank(&self, offers: &[Offer], ask: Ask, from: DateTime<Utc>) -> Choice {
        let candidates: Vec<Candidate> = offers.iter().map(candidate).collect();
        rule::rank(&candidates, ask, &self.policy, |days| {
            self.local_date(self.calendar.add_working_days(from, days))
        })
    }

    /// The current offers of the part as of today, ranked for `quantity`.
    pub(crate) async fn choose<C: ConnectionTrait>(
        &self,
        conn: &C,
        part_no: &str,
        quantity: u32,
    ) -> Result<(Choice, Vec<Offer>), Error> {
        let today = self.today();
        let offers = quotes::current_offers(conn, part_no, today).await?;
        let choice = self.rank(
            &offers,
            Ask {
                quantity,
                as_of: today,
                need_by: None,
            },
            self.clock.now(),
        );
        Ok((choice, offers))
    }

    /// Midnight at the start of `day`, local time.
    fn start_of(&self, day: NaiveDate) -> DateTime<Utc> {
        self.offset
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| self.clock.now())
    }
}

pub(crate) fn candidate(o: &Offer) -> Candidate {
    Candidate {
        quote_id: o.quote.quote_id.clone(),
        supplier_id: o.quote.supplier_id.clone(),
        supplier_name: o.supplier_name.clone(),
        status: o.status,
        score_bp: o.score_bp,
        unit_price_minor: o.quote.unit_price_minor,
        min_quantity: o.quote.min_quantity,
        lead_time_days: o.quote.lead_time_days,
        valid_from: o.quote.valid_from,
        valid_until: o.quote.valid_until,
    }
}

fn replay(q: Quote, print: &str) -> Result<Quote, Error> {
    if q.fingerprint == print {
        Ok(q)
    } else {
        Err(key_reused("quote"))
    }
}
