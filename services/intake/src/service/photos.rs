//! Photos of a request's fault: recording the ones the gateway stored, and listing them. The
//! bytes are never here; a record says where they are.

use aftersales_platform::auth::Caller;
use sea_orm::TransactionTrait;

use super::{Intake, micros};
use crate::domain::RequestNo;
use crate::error::Error;
use crate::store::photos::{self, Photo};
use crate::store::requests;

/// At most this many photos per request (the limit; a form shows nine tiles).
pub const PHOTOS_PER_REQUEST: i64 = 9;

impl Intake {
    /// Records `photo` on the request, under the request's row lock so that concurrent uploads
    /// cannot pass the limit together. The same idempotency key with the same bytes returns the
    /// first record (`created` false); with other bytes it is refused.
    pub async fn add_photo(
        &self,
        caller: &Caller,
        request_no: &RequestNo,
        mut photo: Photo,
        idempotency_key: &str,
    ) -> Result<(Photo, bool), Error> {
        aftersales_platform::grpc::record_request_no(request_no.as_str());
        let txn = self.db.begin().await?;
        requests::get_for_update(&txn, request_no.as_str())
            .await?
            .filter(|r| caller.sees_branch(r.request.branch.as_str()))
            .ok_or_else(|| Error::NotFound(format!("request {request_no}")))?;
        if let Some(existing) =
            photos::find_by_idempotency_key(&txn, request_no.as_str(), idempotency_key).await?
        {
            txn.rollback().await?;
            if existing.sha256 != photo.sha256 {
                return Err(Error::AlreadyExists(
                    "idempotency_key was already used for a different photo; use a new key for a new photo".into(),
                ));
            }
            return Ok((existing, false));
        }
        let held = photos::count(&txn, request_no.as_str()).await?;
        if held >= PHOTOS_PER_REQUEST {
            return Err(Error::FailedPrecondition(format!(
                "request {request_no} has {held} photos: at most {PHOTOS_PER_REQUEST} photos per request"
            )));
        }
        photo.request_no = request_no.to_string();
        photo.uploaded_by = caller.subject.clone();
        photo.uploaded_at = micros(self.clock.now());
        photos::insert(&txn, &photo, idempotency_key).await?;
        txn.commit().await?;
        Ok((photo, true))
    }

    /// The request's photos, oldest first, if the caller may see the request.
    pub async fn photos(
        &self,
        caller: &Caller,
        request_no: &RequestNo,
    ) -> Result<Vec<Photo>, Error> {
        self.get(caller, request_no).await?;
        Ok(photos::list(&self.db, request_no.as_str()).await?)
    }
}
