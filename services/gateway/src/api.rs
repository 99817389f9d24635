//! The REST resources, one module each, plus the wire shapes they share. Every handler carries
//! its `#[utoipa::path]`; [`routers`] gathers them into `OpenApiRouter`s, from which the gateway
//! takes both the axum router it serves and the OpenAPI document ([`document`]), so the two
//! cannot drift apart. The document is also the gate: [`crate::contract`] reads each operation's
//! roles (its security scopes), its branch scope and its parameter and body schemas from it.
//!
//! A new service's paths are added the same way: a module here with its handlers annotated (path,
//! parameters, body with an example from the demo data, responses, `security(("bearer" = [roles]))`,
//! `extensions(("x-branch-scope" = …), ("x-problems" = [statuses]))`), its `routes()` added to
//! [`routers`], its wire types deriving `ToSchema`. Nothing else: the gate, `/openapi.json`,
//! `/docs`, the cross-branch matrix test and the API fuzzer pick it up from the document.

pub mod board;
pub mod carriers;
pub mod claims;
pub mod dealers;
pub mod docs;
pub mod feedback;
pub mod fieldservice;
pub mod kpis_page;
pub mod logistics;
pub mod page;
pub mod photos;
pub mod procurement;
pub mod requests;
pub mod schema;
pub mod stock;
pub mod warehouse;
pub mod wire;

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ArrayItems, KnownFormat, ObjectBuilder, Schema, SchemaType};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, SchemaFormat, Type};
use utoipa_axum::router::OpenApiRouter;

use crate::app::AppState;
use crate::problem::ProblemDetails;
use schema::{BEARER, PROBLEMS_EXTENSION, SCOPE_EXTENSION};

/// The document's frame: its title, the tags, the schemas every operation shares.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "After-sales gateway",
        description = "The front door of the after-sales mesh (DESIGN §8): REST/JSON over the \
            services. Send `Authorization: Bearer <JWT>` (claims `sub`, `branch` — a branch code or \
            `*` for head office — and `roles`); each operation's security scopes are the roles that \
            may call it, and its `x-branch-scope` says whose data it serves: `branch` (a branch \
            sees only its own; another branch's resource answers 404), `head_office` (only \
            `branch: \"*\"` tokens), `global` (the same for everyone) or `public` (no token). \
            Errors are RFC 9457 `application/problem+json`: 400 when a request does not match this \
            document (every bad field named), 422 when it does but breaks a rule a schema cannot \
            state. POSTs take an `Idempotency-Key`.",
        license(name = "Apache-2.0"),
    ),
    tags(
        (name = "requests", description = "Service requests (intake)"),
        (name = "claims", description = "Warranty claims and the review queue (claims-review)"),
        (name = "warehouse", description = "Stock, receipts, pick lists, stocktakes, the ledger, back-orders, returned units"),
        (name = "procurement", description = "Suppliers, quotes, purchase orders, the cost report (procurement)"),
        (name = "logistics", description = "Shipments, tracking, exceptions, return pick-ups, freight (logistics)"),
        (name = "field-service", description = "Technicians, work orders, appointments, tool loans, rework, the board's data (field-service)"),
        (name = "feedback", description = "Return visits, surveys, complaints, KPIs, reports, the self-assessment (feedback)"),
        (name = "dealers", description = "Dealers and agents: batch warranty claims, monthly statements, old parts by batch, advance exchange (claims-review, warehouse)"),
        (name = "events", description = "The live event stream"),
        (name = "carriers", description = "Carrier webhooks"),
        (name = "pages", description = "The dispatch board, these docs and this document"),
    ),
    // The identifier schemas parameters refer to (bodies bring theirs along).
    components(schemas(
        ProblemDetails, schema::RequestNo, schema::PartNo, schema::BranchCode, schema::Phone,
        schema::Serial, schema::PickListId, schema::DocumentId, schema::IdempotencyKey,
        schema::EntityTag, schema::Date, schema::PhotoUrl, docs::DocsFile,
        schema::SupplierId, schema::PoNumber, schema::ShipmentNo, schema::PickupNo,
        schema::WorkOrderNo, schema::Code, schema::Id, schema::Month, schema::PeriodName,
        schema::WeekOrMonth, schema::CarrierCode, schema::DealerCode, schema::Uuid,
        schema::OldPartBatchId, schema::ExchangeId,
        schema::DealerOrderId, schema::ConsignmentId,
    )),
)]
pub struct ApiDoc;

/// The operations that need a bearer token, and the public ones (pages, the document, signed
/// webhooks). The gateway serves each group with its own layers.
pub fn routers() -> (OpenApiRouter<AppState>, OpenApiRouter<AppState>) {
    let authed = OpenApiRouter::new()
        .merge(requests::routes())
        .merge(photos::routes())
        .merge(claims::routes())
        .merge(stock::routes())
        .merge(warehouse::routes())
        .merge(procurement::routes())
        .merge(logistics::routes())
        .merge(fieldservice::routes())
        .merge(feedback::routes())
        .merge(dealers::routes())
        .merge(crate::stream::routes());
    let public = OpenApiRouter::new()
        .merge(carriers::routes())
        .merge(photos::object_routes())
        .merge(board::routes())
        .merge(kpis_page::routes())
        .merge(docs::routes());
    (authed, public)
}

/// The whole document from the two groups' paths.
pub fn assemble(
    authed: utoipa::openapi::OpenApi,
    public: utoipa::openapi::OpenApi,
) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(authed);
    doc.merge(public);
    Shared.modify(&mut doc);
    doc
}

/// The document as served, built from the same routers as the server (tests, tools).
pub fn document() -> utoipa::openapi::OpenApi {
    let (authed, public) = routers();
    assemble(authed.into_openapi(), public.into_openapi())
}

/// The problem responses, by status: what each means here.
const PROBLEMS: &[(u16, &str, &str)] = &[
    (
        400,
        "BadRequest",
        "The request does not match this document; `violations` names every bad field, parameter or header.",
    ),
    (
        401,
        "Unauthenticated",
        "No bearer token, or one that is expired, forged or from an unknown key (or, for a webhook, a bad signature).",
    ),
    (
        403,
        "Forbidden",
        "The token's roles are not among this operation's security scopes, or the operation is head office's and the token is a branch's.",
    ),
    (
        404,
        "NotFound",
        "No such resource, or another branch's (which a branch may not see).",
    ),
    (
        409,
        "Conflict",
        "The resource's state forbids this (decided, issued, closed, …), a stale `expected_version`, or the first request with this Idempotency-Key is still being served.",
    ),
    (
        412,
        "PreconditionFailed",
        "`If-Match` names a version that is no longer current: reload and retry.",
    ),
    (
        413,
        "PayloadTooLarge",
        "The body is larger than the gateway accepts.",
    ),
    (
        415,
        "UnsupportedMediaType",
        "The body is not `application/json`.",
    ),
    (
        422,
        "Unprocessable",
        "The request matches this document but breaks a rule no schema states (dates in the future or out of order, a part listed twice, a part not in the catalogue, …), or its Idempotency-Key was used with another request.",
    ),
    (
        428,
        "PreconditionRequired",
        "A conditional write without `If-Match` or `expected_version`.",
    ),
    (
        429,
        "TooManyRequests",
        "Over the caller's or the branch's rate limit; `Retry-After` says when to retry.",
    ),
    (
        503,
        "Unavailable",
        "A service behind the gateway is unavailable; retry shortly.",
    ),
    (
        504,
        "GatewayTimeout",
        "A service behind the gateway did not answer in time.",
    ),
];

/// What every authenticated operation may answer besides its own.
const AUTHENTICATED: &[u16] = &[401, 403, 429, 503, 504];

/// The document's shared parts: the security schemes, the problem responses, and each
/// operation's `x-problems` turned into explicit responses (no `default`).
pub struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT from the identity provider (RS256/ES256 by kid). The security \
                         scopes of an operation are the roles that may call it.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "carrier_signature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Signature",
                "sha256=<hex HMAC-SHA256 of the raw body under the carrier's secret>",
            ))),
        );
        for (status, name, description) in PROBLEMS {
            let mut response = ResponseBuilder::new().description(*description).content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
            if *status == 401 {
                response = response.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .description(Some("Bearer realm=\"aftersales\""))
                        .build(),
                );
            }
            if *status == 429 {
                response = response.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(
                            ObjectBuilder::new()
                                .schema_type(Type::Integer)
                                .format(Some(SchemaFormat::Custom("int32".into())))
                                .minimum(Some(1)),
                        ))
                        .description(Some("Seconds to wait"))
                        .build(),
                );
            }
            components
                .responses
                .insert((*name).to_owned(), RefOr::T(response.build()));
        }
        for schema in components.schemas.values_mut() {
            instants_with_pattern(schema);
        }
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_problems(op);
                for p in op.parameters.iter_mut().flatten() {
                    if let RefOr::T(p) = p
                        && let Some(schema) = p.schema.take()
                    {
                        let mut schema = not_null(schema);
                        instants_with_pattern(&mut schema);
                        p.schema = Some(schema);
                    }
                }
                if let Some(RefOr::T(body)) = op.request_body.as_mut() {
                    for content in body.content.values_mut() {
                        if let RefOr::T(content) = content
                            && let Some(schema) = content.schema.as_mut()
                        {
                            instants_with_pattern(schema);
                        }
                    }
                }
            }
        }
    }
}

/// An RFC 3339 `date-time` (JSON Schema's: `T` between date and time, not the space `chrono`
/// also takes; no leap second, which a validator accepts only at 23:59:60 UTC of the days that
/// had one); the contract checks it before parsing the instant.
pub const INSTANT_PATTERN: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$";

/// `format` is an annotation in JSON Schema 2020-12, not an assertion, yet the gateway refuses
/// a `date-time` that is not an instant (the empty string, say): every `date-time` string says
/// so with a pattern too, so that what the document calls valid is what the gateway accepts.
fn instants_with_pattern(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(o) => {
            if o.format == Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))
                && o.pattern.is_none()
            {
                o.pattern = Some(INSTANT_PATTERN.to_owned());
            }
            for p in o.properties.values_mut() {
                instants_with_pattern(p);
            }
        }
        Schema::Array(a) => {
            if let ArrayItems::RefOrSchema(items) = &mut a.items {
                instants_with_pattern(items);
            }
        }
        Schema::OneOf(one) => one.items.iter_mut().for_each(instants_with_pattern),
        Schema::AllOf(all) => all.items.iter_mut().for_each(instants_with_pattern),
        Schema::AnyOf(any) => any.items.iter_mut().for_each(instants_with_pattern),
        _ => {}
    }
}

/// A parameter is absent or has a value, never `null` (a header or a query string cannot say
/// null): the nullable wrapper utoipa gives an `Option` is taken off.
fn not_null(schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::OneOf(one)) => {
            let mut rest: Vec<RefOr<Schema>> = one
                .items
                .into_iter()
                .filter(|i| !matches!(i, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null)))
                .collect();
            if rest.len() == 1 {
                not_null(rest.remove(0))
            } else {
                RefOr::T(Schema::OneOf(utoipa::openapi::schema::OneOf {
                    items: rest,
                    ..Default::default()
                }))
            }
        }
        RefOr::T(Schema::Object(mut o)) => {
            if let SchemaType::Array(types) = &o.schema_type {
                let kept: Vec<Type> = types
                    .iter()
                    .filter(|t| **t != Type::Null)
                    .cloned()
                    .collect();
                o.schema_type = match kept.as_slice() {
                    [one] => SchemaType::Type(one.clone()),
                    _ => SchemaType::Array(kept),
                };
            }
            RefOr::T(Schema::Object(o))
        }
        RefOr::T(Schema::Array(mut a)) => {
            if let SchemaType::Array(types) = &a.schema_type
                && types.contains(&Type::Array)
            {
                a.schema_type = SchemaType::Type(Type::Array);
            }
            RefOr::T(Schema::Array(a))
        }
        other => other,
    }
}

/// Whether the operation takes a bearer token.
pub fn is_authenticated(op: &Operation) -> bool {
    op.extensions
        .as_ref()
        .and_then(|e| e.get(SCOPE_EXTENSION))
        .and_then(|v| v.as_str())
        .is_some_and(|s| s != "public")
}

fn add_problems(op: &mut Operation) {
    let mut statuses: Vec<u16> = op
        .extensions
        .as_mut()
        .and_then(|e: &mut Extensions| e.remove(PROBLEMS_EXTENSION))
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    if is_authenticated(op) {
        statuses.extend(AUTHENTICATED);
    }
    statuses.sort_unstable();
    statuses.dedup();
    for status in statuses {
        if let Some((_, name, _)) = PROBLEMS.iter().find(|(s, _, _)| *s == status) {
            op.responses.responses.insert(
                status.to_string(),
                RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_names_its_problems_explicitly_and_none_has_a_default() {
        let doc = serde_json::to_value(document()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(!responses.contains_key("default"), "{method} {path}");
                assert!(op.get(PROBLEMS_EXTENSION).is_none(), "{method} {path}");
                assert!(
                    responses.keys().any(|s| s.starts_with('2')),
                    "{method} {path} has a success"
                );
                let scope = op[SCOPE_EXTENSION].as_str().unwrap_or_else(|| {
                    panic!("{method} {path} says whose data it serves ({SCOPE_EXTENSION})")
                });
                assert!(
                    schema::Scope::parse(scope).is_some(),
                    "{method} {path}: {scope}"
                );
                if scope != "public" {
                    for s in ["401", "403", "429"] {
                        assert!(responses.contains_key(s), "{method} {path} answers {s}");
                    }
                    let roles = op["security"][0][BEARER].as_array().unwrap_or_else(|| {
                        panic!("{method} {path} names its roles as bearer scopes")
                    });
                    assert!(!roles.is_empty(), "{method} {path}");
                    for r in roles {
                        assert!(
                            aftersales_platform::auth::Role::parse(r.as_str().unwrap()).is_some(),
                            "{method} {path}: {r}"
                        );
                    }
                }
            }
        }
    }

    /// Two wire types of one name in two modules would be merged into one schema silently (the
    /// gate would then hold one operation's body to the other's: it happened to `InspectionBody`).
    #[test]
    fn no_two_modules_publish_different_schemas_under_one_name() {
        let mut seen: std::collections::HashMap<String, (&str, serde_json::Value)> =
            Default::default();
        for (module, router) in [
            ("requests", requests::routes()),
            ("photos", photos::routes()),
            ("photo_objects", photos::object_routes()),
            ("claims", claims::routes()),
            ("stock", stock::routes()),
            ("warehouse", warehouse::routes()),
            ("procurement", procurement::routes()),
            ("logistics", logistics::routes()),
            ("fieldservice", fieldservice::routes()),
            ("feedback", feedback::routes()),
            ("carriers", carriers::routes()),
        ] {
            let doc = router.into_openapi();
            for (name, schema) in doc.components.map(|c| c.schemas).unwrap_or_default() {
                let v = serde_json::to_value(schema).unwrap();
                match seen.get(&name) {
                    Some((other, prev)) => {
                        assert_eq!(prev, &v, "schema {name} differs in {other} and {module}")
                    }
                    None => {
                        seen.insert(name, (module, v));
                    }
                }
            }
        }
        assert!(seen.len() > 50, "{} schemas", seen.len());
    }

    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.to_owned());
                }
                m.values().for_each(|c| refs(c, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
            _ => {}
        }
    }

    #[test]
    fn the_instant_pattern_accepts_what_the_contract_parses_and_every_date_time_has_it() {
        let re = regex::Regex::new(INSTANT_PATTERN).unwrap();
        for (t, valid) in [
            ("2026-11-22T08:00:00Z", true),
            ("2026-11-22T08:00:00.123456789+08:00", true),
            ("2026-11-22t08:00:00z", true),
            ("6045-11-09T11:23:28-22:09", true),
            ("6045-11-09T22:05:60Z", false),
            ("2026-11-22 08:00:00-05:30", false),
            ("", false),
            ("2026-11-22", false),
            ("2026-11-22T08:00Z", false),
            ("2026-13-01T08:00:00Z", false),
            ("2026-11-22T24:00:00Z", false),
            ("22/11/2026 08:00", false),
        ] {
            assert_eq!(re.is_match(t), valid, "{t:?}");
            if valid {
                assert!(chrono::DateTime::parse_from_rfc3339(t).is_ok(), "{t:?}");
            }
        }
        let doc = serde_json::to_value(document()).unwrap();
        let mut missing = Vec::new();
        fn walk(v: &serde_json::Value, at: &str, missing: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    if m.get("format").and_then(|f| f.as_str()) == Some("date-time")
                        && m.get("pattern").is_none()
                    {
                        missing.push(at.to_owned());
                    }
                    for (k, x) in m {
                        walk(x, &format!("{at}/{k}"), missing);
                    }
                }
                serde_json::Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        walk(x, &format!("{at}/{i}"), missing);
                    }
                }
                _ => {}
            }
        }
        walk(&doc["components"]["schemas"], "schemas", &mut missing);
        walk(&doc["paths"], "paths", &mut missing);
        // Responses may keep a bare format (an annotation); what a client sends may not.
        missing.retain(|p| !p.contains("/responses/"));
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let doc = serde_json::to_value(document()).unwrap();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let pointer = r.strip_prefix('#').unwrap();
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_design_paths() {
        let doc = serde_json::to_value(document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in [
            "/v1/requests",
            "/v1/requests/{request_no}",
            "/v1/requests/{request_no}/timeline",
            "/v1/requests/{request_no}/cancel",
            "/v1/requests/{request_no}/photos",
            "/v1/photo-objects/{request_no}/{file}",
            "/v1/claims",
            "/v1/claims/{request_no}",
            "/v1/claims/{request_no}/decision",
            "/v1/stock/{part_no}",
            "/v1/events/stream",
            "/v1/carriers/{carrier}/events",
        ] {
            assert!(doc["paths"][path].is_object(), "{path}");
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let text = p["schema"].to_string();
                    assert!(
                        !text.contains("\"null\""),
                        "{method} {path} {}: {text}",
                        p["name"]
                    );
                }
            }
        }
        for (path, required) in [
            ("/v1/requests/{request_no}/cancel", false),
            ("/v1/stocktakes", false),
            ("/v1/stocktakes/{stocktake_id}/close", false),
            ("/v1/requests", true),
        ] {
            assert_eq!(
                doc["paths"][path]["post"]["requestBody"]["required"]
                    .as_bool()
                    .unwrap_or(false),
                required,
                "{path}"
            );
        }
        let create = &doc["paths"]["/v1/requests"]["post"];
        assert_eq!(
            create["requestBody"]["content"]["application/json"]["example"]["branch"],
            "SH01"
        );
        assert_eq!(
            doc["components"]["schemas"]["Channel"]["enum"],
            serde_json::json!(["hotline", "web", "email", "branch"])
        );
    }
}
