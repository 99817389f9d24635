//! `/v1/requests/{request_no}/photos`: photos of the fault. The upload is read part by part and
//! streamed into the photo store ([`crate::photos`]) while it is counted (10 MiB at most) and its
//! type is judged by its first bytes (JPEG, PNG, HEIC); JPEG and PNG get a thumbnail; intake
//! records where they are (the bytes never travel over gRPC). The list answers short-lived
//! signed URLs; for the local store those are `/v1/photo-objects/…`, served here too.

use aftersales_platform::auth::Caller;
use aftersales_platform::proto::intake::v1 as pb;
use axum::Extension;
use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[allow(unused_imports)] // named by the path attributes
use crate::api::schema::{IdempotencyKey, RequestNo};
use crate::app::AppState;
use crate::idempotency::upstream_key;
use crate::peers::call;
use crate::photos::{Kind, MAX_PHOTO_BYTES, MAX_UPLOAD_BODY, Refused, keys, thumbnail};
use crate::problem::{FieldViolation, Problem};

/// At most this many photos per request (intake holds the same limit under a lock).
pub const PHOTOS_PER_REQUEST: usize = 9;

/// The upload and the list, behind a token; the upload's body may be a photo's size.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload, list))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY))
}

/// The local store's signed URLs: public (the signature is the credential).
pub fn object_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(object))
}

/// The body limit of a route when it is not the server's (the idempotency layer reads a keyed
/// upload whole to fingerprint it).
pub fn body_limit(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("/v1/requests/")?;
    let (no, tail) = rest.split_once('/')?;
    (!no.is_empty() && tail == "photos").then_some(MAX_UPLOAD_BODY)
}

/// The upload form: one part named `file`, nothing else.
#[derive(ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // documents the multipart body; read by hand, part by part
pub struct PhotoUpload {
    /// The photo: JPEG, PNG or HEIC, judged by its content (not its name), at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// A photo of the fault, with short-lived URLs to read it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Photo {
    #[schema(example = "0193a5c2-5d7e-7c3a-9f10-2b4c6d8e0f12")]
    pub photo_id: String,
    #[schema(value_type = RequestNo)]
    pub request_no: String,
    /// Judged by the bytes: `image/jpeg`, `image/png` or `image/heic`.
    #[schema(example = "image/jpeg")]
    pub content_type: String,
    pub size_bytes: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// The name the client gave the file (informational only).
    pub filename: String,
    pub uploaded_by: String,
    #[schema(format = DateTime, example = "2026-11-22T08:00:00.000Z")]
    pub uploaded_at: Option<String>,
    /// Pixels; 0 for HEIC (stored as sent, not decoded).
    pub width: u32,
    pub height: u32,
    /// Reads the photo until it expires (`url_ttl_secs`, 5 minutes by default); a relative URL
    /// is the gateway's own.
    pub url: String,
    /// Its thumbnail (JPEG, at most 320 px on the long side); none for HEIC.
    pub thumbnail_url: Option<String>,
}

/// A request's photos, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PhotoList {
    pub items: Vec<Photo>,
}

/// Add a photo of the fault
///
/// `multipart/form-data` with one part named `file`: JPEG, PNG or HEIC, judged by its content
/// (a text file named `.jpg` is refused with 415), at most 10 MiB (413), at most 9 per request
/// (409). JPEG and PNG get a thumbnail; HEIC is stored as sent. Send an `Idempotency-Key`: a
/// retry with the same key gets the first answer.
#[utoipa::path(
    post,
    path = "/v1/requests/{request_no}/photos",
    tag = "requests",
    params(
        ("request_no" = RequestNo, Path),
        ("Idempotency-Key" = Option<IdempotencyKey>, Header, description = "Makes a retry safe"),
    ),
    request_body(content = PhotoUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = Photo,
            headers(("Location" = String, description = "The request's photos"))),
        (status = 200, description = "Already stored with this key (intake's own idempotency)", body = Photo),
    ),
    security(("bearer" = ["branch_agent", "dispatcher", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 409, 413, 415, 422]))),
)]
pub async fn upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, Problem> {
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let mut client = state.peers.intake(&caller)?;
    // Another branch's request (or none) answers 404 before a byte is stored.
    call(
        "intake",
        "aftersales.intake.v1.IntakeService/GetRequest",
        client.get_request(pb::GetRequestRequest {
            request_no: request_no.clone(),
        }),
    )
    .await?;
    let held = call(
        "intake",
        "aftersales.intake.v1.IntakeService/ListPhotos",
        client.list_photos(pb::ListPhotosRequest {
            request_no: request_no.clone(),
        }),
    )
    .await?
    .photos
    .len();
    if held >= PHOTOS_PER_REQUEST {
        return Err(limit_reached(&request_no, held));
    }
    let mut multipart = multipart.map_err(|e| {
        with_field(
            Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                format!(
                    "send the photo as multipart/form-data with one part named file ({})",
                    e.body_text()
                ),
            ),
            "file",
            "is required as a multipart/form-data part",
        )
    })?;
    let Some(field) = multipart.next_field().await.map_err(multipart_problem)? else {
        return Err(Problem::field(
            "file",
            "is required: one multipart part named file with the photo",
        ));
    };
    let received = match field.name() {
        Some("file") => receive(&state, &request_no, field).await?,
        other => return Err(unknown_part(other)),
    };
    // Nothing may follow the photo: a form with more parts is not this operation's, and the
    // stored objects go back.
    let refused = match multipart.next_field().await {
        Ok(None) => None,
        Ok(Some(extra)) => Some(unknown_part(extra.name())),
        Err(e) => Some(multipart_problem(e)),
    };
    if let Some(problem) = refused {
        state
            .photos
            .delete_quietly(&[&received.object_key, &received.thumb_key])
            .await;
        return Err(problem);
    }
    let Received {
        photo_id,
        kind,
        object_key,
        thumb_key,
        size,
        sha256,
        filename,
        width,
        height,
    } = received;
    let key = upstream_key(&caller, &headers);
    let added = call(
        "intake",
        "aftersales.intake.v1.IntakeService/AddPhoto",
        client.add_photo(pb::AddPhotoRequest {
            request_no: request_no.clone(),
            photo: Some(pb::Photo {
                photo_id: photo_id.to_string(),
                request_no: request_no.clone(),
                content_type: kind.content_type().to_owned(),
                size_bytes: size as u64,
                sha256,
                object_key: object_key.clone(),
                thumbnail_key: thumb_key.clone(),
                filename,
                width,
                height,
                ..Default::default()
            }),
            idempotency_key: key,
        }),
    )
    .await;
    let added = match added {
        Ok(a) => a,
        Err(p) => {
            // Nothing half-written: the objects go when their record is refused.
            state
                .photos
                .delete_quietly(&[&object_key, &thumb_key])
                .await;
            return Err(p);
        }
    };
    if !added.created {
        // A retry of an upload recorded before: the first one's objects stand, ours go.
        state
            .photos
            .delete_quietly(&[&object_key, &thumb_key])
            .await;
    }
    let photo = to_wire(&state, added.photo.unwrap_or_default()).await?;
    let status = if added.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = (status, Json(&photo)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("/v1/requests/{request_no}/photos")) {
        response.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(response)
}

/// What an upload stored.
struct Received {
    photo_id: uuid::Uuid,
    kind: Kind,
    object_key: String,
    /// Empty for HEIC.
    thumb_key: String,
    size: usize,
    sha256: String,
    filename: String,
    width: u32,
    height: u32,
}

/// Reads the part chunk by chunk into the store, refusing it as soon as it passes 10 MiB or its
/// first bytes are not a photo's; then makes the thumbnail. On any refusal nothing stays stored.
async fn receive(
    state: &AppState,
    request_no: &str,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<Received, Problem> {
    let filename: String = field
        .file_name()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(255)
        .collect();
    let photo_id = uuid::Uuid::new_v4();
    let store = state.photos.store().clone();
    // The bytes are kept too: the thumbnail is decoded from them (at most 10 MiB).
    let mut bytes: Vec<u8> = Vec::new();
    let mut sha = Sha256::new();
    let mut writing: Option<(WriteMultipart, Kind, String, String)> = None;
    let outcome: Result<(), Problem> = async {
        while let Some(chunk) = field.chunk().await.map_err(multipart_problem)? {
            if bytes.len() + chunk.len() > MAX_PHOTO_BYTES {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
            sha.update(&chunk);
            match writing.as_mut() {
                Some((w, ..)) => w.write(&chunk),
                // HEIC needs 12 bytes to be told; JPEG and PNG fewer.
                None if bytes.len() >= 12 => {
                    writing = Some(start(&store, request_no, &photo_id, &bytes).await?);
                }
                None => {}
            }
        }
        if bytes.is_empty() {
            return Err(Problem::field("file", "is empty"));
        }
        if writing.is_none() {
            writing = Some(start(&store, request_no, &photo_id, &bytes).await?);
        }
        Ok(())
    }
    .await;
    let Some((writer, kind, object_key, thumb_key)) = writing else {
        return Err(outcome.err().unwrap_or_else(Problem::internal));
    };
    if let Err(p) = outcome {
        if let Err(e) = writer.abort().await {
            tracing::warn!(error = %e, key = %object_key, "aborting a refused upload");
        }
        return Err(p);
    }
    writer.finish().await.map_err(storage_problem)?;
    let size = bytes.len();
    let sha256 = hex::encode(sha.finalize());
    if kind == Kind::Heic {
        return Ok(Received {
            photo_id,
            kind,
            object_key,
            thumb_key: String::new(),
            size,
            sha256,
            filename,
            width: 0,
            height: 0,
        });
    }
    let made = tokio::task::spawn_blocking(move || thumbnail(kind, &bytes))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the thumbnail task failed");
            Problem::internal()
        })?;
    let thumb = match made {
        Ok(t) => t,
        Err(e) => {
            state.photos.delete_quietly(&[&object_key]).await;
            return Err(Problem::unprocessable(
                vec![FieldViolation {
                    field: "file".into(),
                    description: format!(
                        "starts like a {} but does not decode as one: {e}",
                        kind.content_type()
                    ),
                }],
                String::new(),
            ));
        }
    };
    if let Err(e) = store
        .put(&ObjectPath::from(thumb_key.as_str()), thumb.jpeg.into())
        .await
    {
        state.photos.delete_quietly(&[&object_key]).await;
        return Err(storage_problem(e));
    }
    Ok(Received {
        photo_id,
        kind,
        object_key,
        thumb_key,
        size,
        sha256,
        filename,
        width: thumb.width,
        height: thumb.height,
    })
}

/// Judges the first bytes and opens the upload with them.
async fn start(
    store: &std::sync::Arc<dyn object_store::ObjectStore>,
    request_no: &str,
    photo_id: &uuid::Uuid,
    head: &[u8],
) -> Result<(WriteMultipart, Kind, String, String), Problem> {
    let kind = Kind::sniff(head).ok_or_else(|| {
        with_field(
            Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "file: is not a JPEG, PNG or HEIC image (judged by its content, not its name)",
            ),
            "file",
            "is not a JPEG, PNG or HEIC image (judged by its content, not its name)",
        )
    })?;
    let (object_key, thumb_key) = keys(request_no, photo_id, kind);
    let upload = store
        .put_multipart(&ObjectPath::from(object_key.as_str()))
        .await
        .map_err(storage_problem)?;
    let mut w = WriteMultipart::new(upload);
    w.write(head);
    Ok((w, kind, object_key, thumb_key))
}

fn with_field(mut p: Problem, field: &str, description: &str) -> Problem {
    p.violations = vec![FieldViolation {
        field: field.into(),
        description: description.into(),
    }];
    p
}

/// The photo is over 10 MiB (also the idempotency layer's answer when a keyed upload's body is
/// over the route's limit).
pub fn too_large() -> Problem {
    with_field(
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            format!("file: must be at most 10 MiB ({MAX_PHOTO_BYTES} bytes)"),
        ),
        "file",
        &format!("must be at most 10 MiB ({MAX_PHOTO_BYTES} bytes)"),
    )
}

fn limit_reached(request_no: &str, held: usize) -> Problem {
    with_field(
        Problem::new(
            StatusCode::CONFLICT,
            "photo-limit",
            format!(
                "request {request_no} has {held} photos: at most {PHOTOS_PER_REQUEST} photos per request"
            ),
        ),
        "file",
        &format!("at most {PHOTOS_PER_REQUEST} photos per request"),
    )
}

/// A part other than `file`, named.
fn unknown_part(name: Option<&str>) -> Problem {
    Problem::field(
        name.unwrap_or("(unnamed part)").to_owned(),
        "is not a part of this form: send one part named file",
    )
}

fn multipart_problem(e: MultipartError) -> Problem {
    let status = e.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    with_field(
        Problem::new(
            status,
            "invalid-argument",
            format!("the multipart body is malformed: {}", e.body_text()),
        ),
        "file",
        "could not be read from the multipart body",
    )
}

fn storage_problem(e: object_store::Error) -> Problem {
    tracing::error!(error = %e, "the photo store failed");
    Problem::unavailable("the photo store is unavailable; retry shortly")
}

async fn to_wire(state: &AppState, p: pb::Photo) -> Result<Photo, Problem> {
    let url = state
        .photos
        .url(&p.object_key)
        .await
        .map_err(|e| storage_problem_any(&e))?;
    let thumbnail_url = if p.thumbnail_key.is_empty() {
        None
    } else {
        Some(
            state
                .photos
                .url(&p.thumbnail_key)
                .await
                .map_err(|e| storage_problem_any(&e))?,
        )
    };
    Ok(Photo {
        photo_id: p.photo_id,
        request_no: p.request_no,
        content_type: p.content_type,
        size_bytes: p.size_bytes,
        sha256: p.sha256,
        filename: p.filename,
        uploaded_by: p.uploaded_by,
        uploaded_at: p.uploaded_at.as_ref().and_then(crate::api::wire::rfc3339),
        width: p.width,
        height: p.height,
        url,
        thumbnail_url,
    })
}

fn storage_problem_any(e: &anyhow::Error) -> Problem {
    tracing::error!(error = %format!("{e:#}"), "signing a photo URL failed");
    Problem::unavailable("the photo store is unavailable; retry shortly")
}

/// The photos of a request, with short-lived URLs
#[utoipa::path(
    get,
    path = "/v1/requests/{request_no}/photos",
    tag = "requests",
    params(("request_no" = RequestNo, Path)),
    responses((status = 200, description = "The photos, oldest first", body = PhotoList)),
    security(("bearer" = ["branch_agent", "reviewer", "warehouse", "procurement", "dispatcher", "technician", "analyst", "admin"])),
    extensions(("x-branch-scope" = json!("branch")), ("x-problems" = json!([400, 404, 422]))),
)]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(request_no): Path<String>,
) -> Result<Json<PhotoList>, Problem> {
    let request_no = crate::extract::request_no(&request_no)?.into_string();
    aftersales_platform::grpc::record_request_no(&request_no);
    let mut client = state.peers.intake(&caller)?;
    let res = call(
        "intake",
        "aftersales.intake.v1.IntakeService/ListPhotos",
        client.list_photos(pb::ListPhotosRequest { request_no }),
    )
    .await?;
    let mut items = Vec::with_capacity(res.photos.len());
    for p in res.photos {
        items.push(to_wire(&state, p).await?);
    }
    Ok(Json(PhotoList { items }))
}

/// A signed URL's query.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ObjectQuery {
    /// Unix seconds after which the URL is refused.
    #[param(minimum = 0)]
    pub expires: u64,
    /// Hex HMAC-SHA256 of the object key and `expires` under the gateway's secret.
    pub sig: String,
}

/// A photo or thumbnail by its signed URL (local store only)
///
/// The URL a photo list handed out; no token: the signature and the expiry are the credential
/// (403 when either is wrong).
#[utoipa::path(
    get,
    path = "/v1/photo-objects/{request_no}/{file}",
    tag = "requests",
    params(
        ("request_no" = RequestNo, Path),
        ("file" = String, Path, description = "`<photo_id>.<jpg|png|heic>` or `<photo_id>.thumb.jpg`"),
        ObjectQuery,
    ),
    responses(
        (status = 200, description = "The bytes", content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/heic")
        )),
    ),
    security(()),
    extensions(("x-branch-scope" = json!("public")), ("x-problems" = json!([400, 403, 404]))),
)]
pub async fn object(
    State(state): State<AppState>,
    Path((request_no, file)): Path<(String, String)>,
    query: Result<Query<ObjectQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query.map_err(|_| Problem::forbidden("the URL is not signed"))?;
    let key = format!("requests/{request_no}/{file}");
    state.photos.verify(&key, q.expires, &q.sig).map_err(|r| {
        Problem::forbidden(match r {
            Refused::Expired => "the URL has expired: list the photos again for a fresh one",
            Refused::BadSignature => "the URL's signature does not match",
        })
    })?;
    let kind = Kind::of_key(&file).ok_or_else(|| Problem::not_found("no such photo"))?;
    let got = match state
        .photos
        .store()
        .get(&ObjectPath::from(key.as_str()))
        .await
    {
        Ok(g) => g,
        Err(object_store::Error::NotFound { .. }) => {
            return Err(Problem::not_found("no such photo"));
        }
        Err(e) => return Err(storage_problem(e)),
    };
    let len = got.meta.size;
    let mut res = Body::from_stream(got.into_stream()).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.content_type()),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=60"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_upload_route_gets_the_larger_body_limit() {
        assert_eq!(
            body_limit("/v1/requests/AS-2611-SH01-000042/photos"),
            Some(MAX_UPLOAD_BODY)
        );
        assert_eq!(body_limit("/v1/requests"), None);
        assert_eq!(body_limit("/v1/requests/AS-2611-SH01-000042/cancel"), None);
        assert_eq!(body_limit("/v1/requests//photos"), None);
    }
}
