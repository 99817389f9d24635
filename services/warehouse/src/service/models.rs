//! Product models: created or updated by upsert, listed, and looked up for the reservation
//! events, which carry the lifecycle of the request's model (feedback judges the parts fill
//! rate by it).

use aftersales_platform::db::is_unique_violation;
use sea_orm::{ConnectionTrait, TransactionTrait};

use super::{Page, Warehouse};
use crate::domain::{Lifecycle, ModelSpec};
use crate::error::Error;
use crate::store::models::{self, ModelFilter, ProductModel};
use crate::wire;

/// Which models a listing wants, in model order.
#[derive(Debug, Clone)]
pub struct ModelsQuery {
    /// Model or name contains it; empty for all.
    pub query: String,
    pub lifecycle: Option<Lifecycle>,
    pub page: Page<String>,
}

/// What a reservation event says of the request's product model: the model, and its lifecycle
/// as the catalogue says at the time (UNSPECIFIED and no date for a model it does not know).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModelFacts {
    pub product_model: String,
    pub model_lifecycle: i32,
    pub model_discontinued_date: String,
}

impl Warehouse {
    /// Creates or updates a product model. The same entry twice changes nothing.
    pub async fn upsert_model(&self, spec: ModelSpec) -> Result<(ProductModel, bool), Error> {
        let txn = self.db.begin().await?;
        let now = self.now();
        let Some(old) = models::get_for_update(&txn, spec.model.as_str()).await? else {
            let model = ProductModel::new(spec, now, now);
            models::insert(&txn, &model).await.map_err(|e| {
                if is_unique_violation(&e) {
                    Error::Aborted(format!(
                        "product model {} was created concurrently; retry",
                        model.model
                    ))
                } else {
                    e.into()
                }
            })?;
            txn.commit().await?;
            return Ok((model, true));
        };
        let same = ProductModel::new(spec, old.created_at, old.updated_at);
        if same == old {
            return Ok((old, false));
        }
        let model = ProductModel {
            updated_at: now,
            ..same
        };
        models::update(&txn, &model).await?;
        txn.commit().await?;
        Ok((model, false))
    }

    /// One page, and the model the next one starts after.
    pub async fn list_models(
        &self,
        q: ModelsQuery,
    ) -> Result<(Vec<ProductModel>, Option<String>), Error> {
        let rows = models::list(
            &self.db,
            &ModelFilter {
                query: q.query,
                lifecycle: q.lifecycle,
                after: q.page.after.clone(),
                limit: q.page.size,
            },
        )
        .await?;
        Ok(q.page.next(rows, |m| m.model.clone()))
    }

    /// The model facts of a request's reservation events (its `product_model`, empty when the
    /// claim named none).
    pub(super) async fn model_facts<C: ConnectionTrait>(
        &self,
        conn: &C,
        product_model: &str,
    ) -> Result<ModelFacts, Error> {
        if product_model.is_empty() {
            return Ok(ModelFacts::default());
        }
        let known = models::get(conn, product_model).await?;
        Ok(ModelFacts {
            product_model: product_model.to_owned(),
            model_lifecycle: wire::model_lifecycle(known.as_ref().map(|m| m.lifecycle.kind())),
            model_discontinued_date: wire::date_text(
                known.and_then(|m| m.lifecycle.discontinued_on()),
            ),
        })
    }
}
