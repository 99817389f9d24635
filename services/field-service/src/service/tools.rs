//! Tool loans (form 11): lend a tool (one technician at a time), take it back fine or damaged,
//! record a loss, list what is out and overdue.

use chrono::NaiveDate;
use sea_orm::TransactionTrait;

use super::{Actor, FieldService, Keyed};
use crate::domain::tools::{LoanStatus, ToolLoan, return_condition};
use crate::domain::{LoanId, TechnicianId, ToolId};
use crate::error::Error;
use crate::store::{technicians, tools, work_orders};

#[derive(Debug, Clone)]
pub struct Lend {
    pub tool_id: ToolId,
    pub tool_name: String,
    pub technician_id: TechnicianId,
    pub work_order_no: Option<String>,
    pub due_back: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct GiveBack {
    pub loan_id: LoanId,
    pub outcome: LoanStatus,
    pub condition: String,
}

#[derive(Debug, Clone, Default)]
pub struct LoanQuery {
    pub technician_id: Option<String>,
    pub tool_id: Option<String>,
    pub open_only: bool,
    pub overdue_only: bool,
    pub size: u64,
    pub after: Option<i64>,
}

impl FieldService {
    pub fn today(&self) -> NaiveDate {
        self.windows.local_date(self.clock.now())
    }

    pub async fn lend(&self, actor: &Actor, keyed: &Keyed, cmd: Lend) -> Result<ToolLoan, Error> {
        if let Some(t) = &actor.technician
            && t != cmd.technician_id.as_str()
        {
            return Err(Error::precondition(
                "a technician borrows tools for themselves",
            ));
        }
        let txn = self.db.begin().await?;
        if let Some(id) = self.replayed(&txn, "LoanTool", keyed).await? {
            txn.commit().await?;
            return self.loan(actor, &id).await;
        }
        let tech = match technicians::get(&txn, cmd.technician_id.as_str()).await? {
            Some(t) if actor.sees_branch(&t.branch) => t,
            _ => {
                return Err(Error::not_found(format!(
                    "technician {}",
                    cmd.technician_id
                )));
            }
        };
        if let Some(no) = &cmd.work_order_no
            && work_orders::get(&txn, no)
                .await?
                .is_none_or(|w| !actor.sees(&w))
        {
            return Err(Error::not_found(format!("work order {no}")));
        }
        let today = self.today();
        if cmd.due_back < today {
            return Err(Error::invalid("due_back_date", "is in the past"));
        }
        let loan = ToolLoan {
            loan_id: format!("LOAN-{}", uuid::Uuid::now_v7().simple()).to_ascii_uppercase(),
            tool_id: cmd.tool_id.as_str().to_owned(),
            tool_name: cmd.tool_name,
            technician_id: tech.technician_id.clone(),
            branch: tech.branch.clone(),
            work_order_no: cmd.work_order_no.unwrap_or_default(),
            loaned_at: self.now(),
            due_back: cmd.due_back,
            returned_at: None,
            return_condition: String::new(),
            status: LoanStatus::Out,
            seq: 0,
        };
        if !tools::insert(&txn, &loan).await? {
            return Err(Error::precondition(format!(
                "tool {} is out on another loan",
                loan.tool_id
            )));
        }
        self.remember(&txn, "LoanTool", keyed, &loan.loan_id)
            .await?;
        txn.commit().await?;
        self.loan(actor, &loan.loan_id).await
    }

    pub async fn loan(&self, actor: &Actor, loan_id: &str) -> Result<ToolLoan, Error> {
        match tools::get(&self.db, loan_id).await? {
            Some(l) if Self::sees_loan(actor, &l) => Ok(l),
            _ => Err(Error::not_found(format!("loan {loan_id}"))),
        }
    }

    fn sees_loan(actor: &Actor, l: &ToolLoan) -> bool {
        actor.sees_branch(&l.branch)
            && actor
                .technician
                .as_deref()
                .is_none_or(|t| t == l.technician_id)
    }

    /// Takes the tool back (or records its loss); a closed loan is returned as it is.
    pub async fn give_back(&self, actor: &Actor, cmd: GiveBack) -> Result<ToolLoan, Error> {
        let condition = return_condition(cmd.outcome, &cmd.condition)
            .map_err(|e| Error::invalid("return_condition", e))?;
        let txn = self.db.begin().await?;
        let loan = match tools::lock(&txn, cmd.loan_id.as_str()).await? {
            Some(l) if Self::sees_loan(actor, &l) => l,
            _ => return Err(Error::not_found(format!("loan {}", cmd.loan_id))),
        };
        if loan.status != LoanStatus::Out {
            txn.commit().await?;
            return Ok(loan);
        }
        tools::close(&txn, &loan.loan_id, cmd.outcome, &condition, self.now()).await?;
        txn.commit().await?;
        self.loan(actor, cmd.loan_id.as_str()).await
    }

    pub async fn loans(
        &self,
        actor: &Actor,
        q: LoanQuery,
    ) -> Result<(Vec<ToolLoan>, Option<i64>), Error> {
        let technician_id = match (&actor.technician, q.technician_id) {
            (Some(mine), Some(asked)) if *mine != asked => return Ok((vec![], None)),
            (Some(mine), _) => Some(mine.clone()),
            (None, asked) => asked,
        };
        let filter = tools::Filter {
            branch: actor.branch.clone(),
            technician_id,
            tool_id: q.tool_id,
            open_only: q.open_only,
            overdue_before: q.overdue_only.then(|| self.today()),
            after: q.after,
        };
        let rows = tools::list(&self.db, &filter, q.size).await?;
        let next = (rows.len() as u64 >= q.size && q.size > 0)
            .then(|| rows.last().map(|l| l.seq))
            .flatten();
        Ok((rows, next))
    }
}
