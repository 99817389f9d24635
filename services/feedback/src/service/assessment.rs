//! The star-level self-assessment of a period: the policy's indicators, the measurable ones
//! scored from the period's KPIs (as the read model has them), the others from the scores people
//! entered with evidence. The entries are kept per period and branch (empty: the company).

use std::collections::BTreeMap;

use aftersales_platform::auth::Caller;
use chrono::{DateTime, Utc};
use sea_orm::TransactionTrait;

use super::{Feedback, figure_branch};
use crate::domain::assessment::{Entry, Scorecard, score};
use crate::domain::kpi::{KpiName, Ratio};
use crate::domain::period::Period;
use crate::error::Error;
use crate::store::{assessments, readmodel as rm};

/// A person's score of an entered indicator, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInput {
    pub indicator_id: String,
    pub points_tenths: u32,
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordAssessment {
    pub idempotency_key: String,
    pub period: Period,
    pub branch: Option<String>,
    pub entries: Vec<EntryInput>,
}

/// An assessment as scored.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub period: Period,
    pub branch: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub card: Scorecard,
}

impl Feedback {
    /// Every metric an indicator may be measured by, over the period.
    async fn metrics(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        branch: &str,
    ) -> Result<BTreeMap<KpiName, Ratio>, Error> {
        let mut m = rm::figures(&self.db, from, to, branch, self.now())
            .await?
            .ratios;
        let rows = rm::fill_rows(&self.db, from, to, branch).await?;
        for c in self.fill_classes(&rows) {
            if let Some(k) = c.class.target() {
                m.insert(k, c.lines);
            }
        }
        Ok(m)
    }

    async fn scored(&self, period: Period, branch: &str) -> Result<Assessment, Error> {
        let (from, to) = period.range(self.offset);
        let metrics = self.metrics(from, to, branch).await?;
        let entries = assessments::entries(&self.db, &period.name(), branch).await?;
        Ok(Assessment {
            period,
            branch: branch.to_owned(),
            from,
            to,
            card: score(
                &self.policy.categories,
                &self.policy.indicators,
                &metrics,
                &entries,
            ),
        })
    }

    pub async fn assessment(
        &self,
        caller: &Caller,
        period: Period,
        branch: Option<String>,
    ) -> Result<Assessment, Error> {
        let branch = figure_branch(caller, branch.as_deref())?;
        self.scored(period, &branch).await
    }

    /// The periods with entries, newest first, each scored.
    pub async fn assessments(
        &self,
        caller: &Caller,
        branch: Option<String>,
    ) -> Result<Vec<Assessment>, Error> {
        let branch = figure_branch(caller, branch.as_deref())?;
        let mut out = Vec::new();
        for p in assessments::periods(&self.db, &branch).await? {
            // A period stored by an earlier version of the parser is skipped, not fatal.
            if let Ok(period) = Period::parse(&p) {
                out.push(self.scored(period, &branch).await?);
            }
        }
        Ok(out)
    }

    /// Records people's scores of the indicators the system cannot measure (the command is
    /// parsed against the policy: entered indicators only, within their maximum).
    pub async fn record_assessment(
        &self,
        caller: &Caller,
        cmd: RecordAssessment,
    ) -> Result<Assessment, Error> {
        let branch = figure_branch(caller, cmd.branch.as_deref())?;
        let txn = self.db.begin().await?;
        let target = format!("{}|{}", cmd.period.name(), branch);
        if self
            .claim_key(
                &txn,
                &cmd.idempotency_key,
                "record_assessment",
                &cmd,
                &target,
            )
            .await?
            .is_some()
        {
            drop(txn);
            return self.scored(cmd.period, &branch).await;
        }
        let now = self.now();
        for e in &cmd.entries {
            assessments::upsert(
                &txn,
                &cmd.period.name(),
                &branch,
                &Entry {
                    indicator_id: e.indicator_id.clone(),
                    points_tenths: e.points_tenths,
                    evidence: e.evidence.clone(),
                    entered_by: caller.subject.clone(),
                    entered_at: now,
                },
            )
            .await?;
        }
        txn.commit().await?;
        self.scored(cmd.period, &branch).await
    }
}
