//! Product models and their lifecycle: parsing their requests, answering with them.

use aftersales_platform::proto::warehouse::v1 as pb;
use aftersales_platform::validate::{Invalid, Violations, optional_text};

use super::{Paged, date, page};
use crate::domain::{ModelCode, ModelLifecycle, ModelSpec};
use crate::service::ModelsQuery;
use crate::store::models::ProductModel;
use crate::wire;

impl TryFrom<&pb::UpsertProductModelRequest> for ModelSpec {
    type Error = Invalid;

    fn try_from(m: &pb::UpsertProductModelRequest) -> Result<Self, Invalid> {
        let Some(p) = &m.model else {
            return Err(Invalid::field("model", "is required"));
        };
        let mut v = Violations::new();
        let model = v.check("model.model", ModelCode::parse(&p.model));
        let name = v.check("model.name", optional_text(&p.name, 200));
        let category = v.check(
            "model.product_category",
            optional_text(&p.product_category, 64),
        );
        let kind = v.check(
            "model.lifecycle",
            wire::model_lifecycle_from(p.lifecycle).and_then(|l| {
                l.ok_or_else(|| {
                    "is required: IN_PRODUCTION, SEMI_DISCONTINUED or DISCONTINUED".into()
                })
            }),
        );
        let since = v.check("model.discontinued_date", date(&p.discontinued_date));
        // The date is judged against the lifecycle only when both parsed.
        let lifecycle = match (kind, since) {
            (Some(kind), Some(since)) => {
                v.check("model.discontinued_date", ModelLifecycle::new(kind, since))
            }
            _ => None,
        };
        v.done(|| {
            Some(ModelSpec {
                model: model?,
                name: name?,
                product_category: category?,
                lifecycle: lifecycle?,
            })
        })
    }
}

impl TryFrom<Paged<'_, pb::ListProductModelsRequest>> for ModelsQuery {
    type Error = Invalid;

    fn try_from(r: Paged<'_, pb::ListProductModelsRequest>) -> Result<Self, Invalid> {
        let m = r.msg;
        let mut v = Violations::new();
        let page = page(
            &mut v,
            m.page_size,
            &m.page_token,
            50,
            r.max_page_size.min(200),
        );
        let query = v.check("query", optional_text(&m.query, 100));
        let lifecycle = v.check("lifecycle", wire::model_lifecycle_from(m.lifecycle));
        v.done(|| {
            Some(ModelsQuery {
                query: query?,
                lifecycle: lifecycle?,
                page: page?,
            })
        })
    }
}

pub fn model_to_proto(m: &ProductModel) -> pb::ProductModel {
    pb::ProductModel {
        model: m.model.clone(),
        name: m.name.clone(),
        product_category: m.product_category.clone(),
        lifecycle: wire::model_lifecycle(Some(m.lifecycle.kind())),
        discontinued_date: wire::date_text(m.lifecycle.discontinued_on()),
        created_at: Some(wire::timestamp(m.created_at)),
        updated_at: Some(wire::timestamp(m.updated_at)),
    }
}
