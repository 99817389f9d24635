//! The document as the gate. Before a handler runs, the operation it serves is looked up in the
//! OpenAPI document the gateway publishes and the request is held to it:
//!
//! - who: the caller must hold one of the operation's security scopes (roles; admin always may),
//!   and a `head_office` operation takes only head-office tokens (403 otherwise);
//! - what: path, query and header parameters and the JSON body must match their schemas (400
//!   naming every bad field at once).
//!
//! So the roles, scopes and constraints a client reads in `/openapi.json` are exactly the ones
//! enforced (a new path cannot be published with one rule and served with another), and a
//! request that reaches a service matches the document: what a service still refuses breaks a
//! rule no schema states, and is answered 422 ([`crate::problem::Problem::from_status`]).
//!
//! The schema checks are the subset of JSON Schema 2020-12 the document uses: `$ref`, `type`,
//! `enum`, `const`, `properties`, `required`, `additionalProperties`, `items`, `oneOf`, `anyOf`,
//! `allOf`, string length, `pattern`, the formats `date` and `date-time`, numeric bounds, array
//! sizes.

use std::collections::HashMap;
use std::sync::Arc;

use aftersales_platform::auth::{Caller, Role};
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use regex::Regex;
use serde_json::Value;

use crate::api::schema::{BEARER, SCOPE_EXTENSION, Scope};
use crate::app::AppState;
use crate::problem::{FieldViolation, Problem};

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum In {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone)]
struct Param {
    name: String,
    place: In,
    required: bool,
    schema: Value,
}

/// One operation as the document states it.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The roles that may call it; `None` for a public operation.
    pub roles: Option<Vec<Role>>,
    pub scope: Scope,
    params: Vec<Param>,
    /// The JSON body's schema, when it takes one.
    body: Option<Value>,
}

/// The document, parsed once for the gate.
pub struct Contract {
    json: Bytes,
    schemas: serde_json::Map<String, Value>,
    operations: HashMap<(Method, String), Operation>,
    patterns: HashMap<String, Regex>,
}

impl std::fmt::Debug for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Contract")
            .field("operations", &self.operations.len())
            .finish()
    }
}

impl Contract {
    /// Reads the document; a pattern that does not compile or an operation without a scope
    /// stops the gateway at start.
    pub fn new(doc: &utoipa::openapi::OpenApi) -> anyhow::Result<Contract> {
        let value = serde_json::to_value(doc)?;
        let json = Bytes::from(serde_json::to_vec(&value)?);
        let schemas = value["components"]["schemas"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let mut operations = HashMap::new();
        let mut patterns = HashMap::new();
        collect_patterns(&value, &mut patterns)?;
        let paths = value["paths"].as_object().cloned().unwrap_or_default();
        for (path, item) in paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            for (method, op) in item {
                let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes())?;
                let scope = op[SCOPE_EXTENSION]
                    .as_str()
                    .and_then(Scope::parse)
                    .ok_or_else(|| {
                        anyhow::anyhow!("{method} {path}: no {SCOPE_EXTENSION} in the document")
                    })?;
                let roles = match scope {
                    Scope::Public => None,
                    _ => {
                        let names = op["security"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|r| r[BEARER].as_array())
                            .flatten()
                            .filter_map(|r| r.as_str());
                        let mut roles = Vec::new();
                        for n in names {
                            roles.push(Role::parse(n).ok_or_else(|| {
                                anyhow::anyhow!("{method} {path}: {n:?} is not a role")
                            })?);
                        }
                        Some(roles)
                    }
                };
                let params = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| {
                        let place = match p["in"].as_str()? {
                            "path" => In::Path,
                            "query" => In::Query,
                            "header" => In::Header,
                            _ => return None,
                        };
                        Some(Param {
                            name: p["name"].as_str()?.to_owned(),
                            place,
                            required: p["required"].as_bool().unwrap_or(false),
                            schema: p["schema"].clone(),
                        })
                    })
                    .collect();
                let body = op["requestBody"]["content"]["application/json"]["schema"]
                    .as_object()
                    .map(|s| Value::Object(s.clone()));
                operations.insert(
                    (method, path.clone()),
                    Operation {
                        roles,
                        scope,
                        params,
                        body,
                    },
                );
            }
        }
        Ok(Contract {
            json,
            schemas,
            operations,
            patterns,
        })
    }

    /// The document as served at `/openapi.json`.
    pub fn document_json(&self) -> Bytes {
        self.json.clone()
    }

    /// The operation serving `method` on the route `template` (HEAD is served by GET).
    pub fn operation(&self, method: &Method, template: &str) -> Option<&Operation> {
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.operations.get(&(method.clone(), template.to_owned()))
    }

    /// Every bad part of a value against a schema, each named by its path. A number with no
    /// fraction where the schema says integer (`2.0`) is an integer (JSON Schema says so), and is
    /// rewritten as one for the handler.
    fn check(&self, schema: &Value, value: &mut Value, at: &str, out: &mut Vec<FieldViolation>) {
        let Some(s) = schema.as_object() else {
            return;
        };
        let here = |description: String| FieldViolation {
            field: if at.is_empty() {
                "body".to_owned()
            } else {
                at.to_owned()
            },
            description,
        };
        if let Some(r) = s.get("$ref").and_then(|r| r.as_str()) {
            match r
                .strip_prefix("#/components/schemas/")
                .and_then(|n| self.schemas.get(n))
            {
                Some(target) => self.check(target, value, at, out),
                None => out.push(here(format!("cannot be checked: unknown schema {r}"))),
            }
            return;
        }
        if let Some(all) = s.get("allOf").and_then(|a| a.as_array()) {
            for sub in all {
                self.check(sub, value, at, out);
            }
        }
        for (keyword, exactly_one) in [("oneOf", true), ("anyOf", false)] {
            if let Some(alternatives) = s.get(keyword).and_then(|a| a.as_array()) {
                let results: Vec<(Vec<FieldViolation>, Value)> = alternatives
                    .iter()
                    .map(|sub| {
                        let mut v = Vec::new();
                        let mut candidate = value.clone();
                        self.check(sub, &mut candidate, at, &mut v);
                        (v, candidate)
                    })
                    .collect();
                let passing = results.iter().filter(|(r, _)| r.is_empty()).count();
                if passing == 0 {
                    // The alternative it came closest to says best what is wrong.
                    if let Some((closest, _)) = results.into_iter().min_by_key(|(r, _)| r.len()) {
                        out.extend(closest);
                    }
                    return;
                }
                if exactly_one && passing > 1 {
                    out.push(here("matches more than one of the alternatives".into()));
                    return;
                }
                if let Some((_, matched)) = results.into_iter().find(|(r, _)| r.is_empty()) {
                    *value = matched;
                }
            }
        }
        if let Some(n) = value.as_f64()
            && !value.is_i64()
            && !value.is_u64()
            && n.fract() == 0.0
            && n.abs() < 9.0e15
            && schema_says_integer(s)
        {
            *value = Value::from(n as i64);
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Value::String(one) => vec![one.as_str()],
                Value::Array(many) => many.iter().filter_map(|t| t.as_str()).collect(),
                _ => vec![],
            };
            if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
                out.push(here(format!("must be {}", types.join(" or "))));
                return;
            }
        }
        if let Some(options) = s.get("enum").and_then(|e| e.as_array())
            && !options.contains(value)
        {
            let choices: Vec<String> = options
                .iter()
                .map(|o| {
                    o.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| o.to_string())
                })
                .collect();
            out.push(here(format!(
                "unknown variant {value}: must be one of {}",
                choices.join("|")
            )));
            return;
        }
        if let Some(c) = s.get("const")
            && c != value
        {
            out.push(here(format!("must be {c}")));
            return;
        }
        match value {
            Value::String(text) => self.check_string(s, text, &mut |d| out.push(here(d))),
            Value::Number(n) => check_number(s, n, &mut |d| out.push(here(d))),
            Value::Array(items) => {
                let n = items.len() as u64;
                if let Some(min) = s.get("minItems").and_then(|m| m.as_u64())
                    && n < min
                {
                    out.push(here(format!("must have at least {min} items")));
                }
                if let Some(max) = s.get("maxItems").and_then(|m| m.as_u64())
                    && n > max
                {
                    out.push(here(format!("must have at most {max} items")));
                }
                if let Some(item) = s.get("items") {
                    for (i, v) in items.iter_mut().enumerate() {
                        self.check(item, v, &format!("{at}[{i}]"), out);
                    }
                }
            }
            Value::Object(map) => {
                let child = |name: &str| {
                    if at.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{at}.{name}")
                    }
                };
                for name in s
                    .get("required")
                    .and_then(|r| r.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.as_str())
                {
                    if !map.contains_key(name) {
                        out.push(FieldViolation {
                            field: child(name),
                            description: "is required".into(),
                        });
                    }
                }
                let properties = s.get("properties").and_then(|p| p.as_object());
                for (name, v) in map.iter_mut() {
                    match properties.and_then(|p| p.get(name)) {
                        Some(sub) => self.check(sub, v, &child(name), out),
                        None => match s.get("additionalProperties") {
                            Some(Value::Bool(false)) => out.push(FieldViolation {
                                field: child(name),
                                description: "is not a field of this request".into(),
                            }),
                            Some(extra @ Value::Object(_)) => {
                                self.check(extra, v, &child(name), out)
                            }
                            _ => {}
                        },
                    }
                }
            }
            _ => {}
        }
    }

    fn check_string(
        &self,
        s: &serde_json::Map<String, Value>,
        text: &str,
        bad: &mut impl FnMut(String),
    ) {
        let chars = text.chars().count() as u64;
        if let Some(min) = s.get("minLength").and_then(|m| m.as_u64())
            && chars < min
        {
            bad(if min == 1 {
                "is required".into()
            } else {
                format!("must be at least {min} characters")
            });
            return;
        }
        if let Some(max) = s.get("maxLength").and_then(|m| m.as_u64())
            && chars > max
        {
            bad(format!("must be at most {max} characters"));
            return;
        }
        // Python's `$` (which schemathesis's validator uses) also matches before a final
        // newline; such a string is accepted here too (every service trims it away).
        if let Some(p) = s.get("pattern").and_then(|p| p.as_str())
            && let Some(re) = self.patterns.get(p)
            && !re.is_match(text)
            && !text.strip_suffix('\n').is_some_and(|t| re.is_match(t))
        {
            let what = s
                .get("description")
                .and_then(|d| d.as_str())
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            bad(format!("does not match the pattern {p}{what}"));
            return;
        }
        match s.get("format").and_then(|f| f.as_str()) {
            Some("date")
                if chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err()
                    || text.len() != 10 =>
            {
                bad("must be a date YYYY-MM-DD".into())
            }
            Some("date-time") if chrono::DateTime::parse_from_rfc3339(text).is_err() => {
                bad("must be an RFC 3339 instant (2026-11-22T08:00:00Z)".into())
            }
            _ => {}
        }
    }

    /// Checks a request against its operation: who, then what. `Ok` gives the request back (its
    /// body read and put back) for the handler.
    async fn admit(
        &self,
        op: &Operation,
        template: &str,
        req: Request,
        max_body: usize,
    ) -> Result<Request, Problem> {
        if let Some(roles) = &op.roles {
            let caller = req
                .extensions()
                .get::<Caller>()
                .ok_or_else(|| Problem::from(aftersales_platform::auth::AuthError::Missing))?;
            if !caller.has_any(roles) {
                let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
                return Err(Problem::forbidden(format!(
                    "the caller's role does not allow this (needs one of: {})",
                    names.join(", ")
                )));
            }
            if op.scope == Scope::HeadOffice && caller.branch().is_some() {
                return Err(Problem::forbidden(
                    "the central warehouse's books are head office's: this needs a head-office token (branch \"*\")",
                ));
            }
        }
        let mut out = Vec::new();
        self.check_parameters(op, template, &req, &mut out);
        let Some(body_schema) = &op.body else {
            return if out.is_empty() {
                Ok(req)
            } else {
                Err(Problem::bad_request(out))
            };
        };
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE) {
            let ct = ct.to_str().unwrap_or("");
            if !ct.starts_with("application/json") && !ct.contains("+json") {
                return Err(Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported-media-type",
                    "send the body as application/json",
                ));
            }
        }
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, max_body).await.map_err(|_| {
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                format!("the body must be at most {max_body} bytes"),
            )
        })?;
        // An empty body is an empty object (every field at its default).
        let mut value = if bytes.iter().all(u8::is_ascii_whitespace) {
            Value::Object(Default::default())
        } else {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    let why = e.to_string();
                    out.push(FieldViolation {
                        field: "body".into(),
                        description: format!(
                            "is not JSON: {}",
                            why.split(" at line ").next().unwrap_or(&why)
                        ),
                    });
                    return Err(Problem::bad_request(out));
                }
            }
        };
        let before = value.clone();
        self.check(body_schema, &mut value, "", &mut out);
        if !out.is_empty() {
            return Err(Problem::bad_request(out));
        }
        // Integers written as `2.0` become `2` for the handler; anything else is passed on as it
        // came (a signed webhook's signature covers its exact bytes).
        // `null` for an optional body is no body: every field at its default.
        if value.is_null() {
            value = Value::Object(Default::default());
        }
        let bytes = if value != before {
            Bytes::from(serde_json::to_vec(&value).unwrap_or_default())
        } else {
            bytes
        };
        Ok(Request::from_parts(parts, Body::from(bytes)))
    }

    fn check_parameters(
        &self,
        op: &Operation,
        template: &str,
        req: &Request,
        out: &mut Vec<FieldViolation>,
    ) {
        let segments: Vec<&str> = req.uri().path().split('/').collect();
        let names: Vec<&str> = template.split('/').collect();
        let query: Vec<(String, String)> = req
            .uri()
            .query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        for p in &op.params {
            let mut bad = |description: String| {
                out.push(FieldViolation {
                    field: p.name.clone(),
                    description,
                })
            };
            let raw: Vec<String> = match p.place {
                In::Path => names
                    .iter()
                    .position(|n| *n == format!("{{{}}}", p.name))
                    .and_then(|i| segments.get(i))
                    .map(|s| {
                        percent_encoding::percent_decode_str(s)
                            .decode_utf8()
                            .map(|d| d.into_owned())
                    })
                    .into_iter()
                    .filter_map(|d| match d {
                        Ok(d) => Some(d),
                        Err(_) => {
                            bad("is not UTF-8".into());
                            None
                        }
                    })
                    .collect(),
                In::Query => query
                    .iter()
                    .filter(|(k, _)| *k == p.name)
                    .map(|(_, v)| v.clone())
                    .collect(),
                // An empty optional header is no header (clients and proxies send `If-Match:`).
                In::Header => req
                    .headers()
                    .get_all(p.name.as_str())
                    .iter()
                    .filter(|v| p.required || !v.as_bytes().iter().all(u8::is_ascii_whitespace))
                    .map(|v| v.to_str().map(str::to_owned))
                    .filter_map(|v| match v {
                        Ok(v) => Some(v),
                        Err(_) => {
                            bad("must be visible ASCII".into());
                            None
                        }
                    })
                    .collect(),
            };
            match raw.as_slice() {
                [] if p.required => bad("is required".into()),
                [] => {}
                [one] => {
                    let mut value = self.coerce(&p.schema, one);
                    // A parameter is named as a whole, even when one of its list items is bad.
                    let mut found = Vec::new();
                    self.check(&p.schema, &mut value, &p.name, &mut found);
                    if let Some(first) = found.into_iter().next() {
                        out.push(FieldViolation {
                            field: p.name.clone(),
                            description: first.description,
                        });
                    }
                }
                _ => bad("must be given once".into()),
            }
        }
    }

    /// A parameter's text as the JSON value its schema describes: a number, a boolean, or a list
    /// (comma-separated, `explode: false`); text that is none of these stays text (and fails
    /// the type check, naming the parameter).
    fn coerce(&self, schema: &Value, text: &str) -> Value {
        let schema = self.resolve(schema);
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(|t| t.as_str()).collect(),
            _ => vec![],
        };
        if types.contains(&"array") {
            let items = &schema["items"];
            return Value::Array(
                text.split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| self.coerce(items, s))
                    .collect(),
            );
        }
        if types.contains(&"integer")
            && let Ok(n) = text.parse::<i64>()
        {
            return Value::from(n);
        }
        if types.contains(&"boolean") {
            match text {
                "true" => return Value::Bool(true),
                "false" => return Value::Bool(false),
                _ => {}
            }
        }
        Value::String(text.to_owned())
    }

    /// The schema a reference (or a nullable `oneOf` around one) stands for.
    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        if let Some(target) = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .and_then(|n| self.schemas.get(n))
        {
            return self.resolve(target);
        }
        if let Some(alternatives) = schema["oneOf"].as_array()
            && let Some(not_null) = alternatives.iter().find(|a| a["type"] != "null")
        {
            return self.resolve(not_null);
        }
        schema
    }
}

/// Whether a schema (not through references) admits integers only.
fn schema_says_integer(s: &serde_json::Map<String, Value>) -> bool {
    match s.get("type") {
        Some(Value::String(t)) => t == "integer",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "integer"),
        _ => false,
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|n| n.fract() == 0.0)
        }
        _ => true,
    }
}

fn check_number(
    s: &serde_json::Map<String, Value>,
    n: &serde_json::Number,
    bad: &mut impl FnMut(String),
) {
    let Some(x) = n.as_f64() else {
        return;
    };
    if let Some(min) = s.get("minimum").and_then(|m| m.as_f64())
        && x < min
    {
        bad(format!("must be at least {min}"));
    }
    if let Some(max) = s.get("maximum").and_then(|m| m.as_f64())
        && x > max
    {
        bad(format!("must be at most {max}"));
    }
    let range = match s.get("format").and_then(|f| f.as_str()) {
        Some("int32") => Some((i32::MIN as f64, i32::MAX as f64)),
        Some("int64") => Some((i64::MIN as f64, u64::MAX as f64)),
        _ => None,
    };
    if let Some((lo, hi)) = range
        && (x < lo || x > hi)
    {
        bad("is out of range".into());
    }
}

/// Compiles every `pattern` of the document once.
fn collect_patterns(v: &Value, out: &mut HashMap<String, Regex>) -> anyhow::Result<()> {
    match v {
        Value::Object(map) => {
            if let Some(Value::String(p)) = map.get("pattern")
                && !out.contains_key(p)
            {
                let re = Regex::new(p).map_err(|e| anyhow::anyhow!("pattern {p:?}: {e}"))?;
                out.insert(p.clone(), re);
            }
            for (k, child) in map {
                // Examples are data, not schemas.
                if k != "example" && k != "examples" {
                    collect_patterns(child, out)?;
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                collect_patterns(child, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// The gate, before every documented operation's handler (and after authentication).
pub async fn enforce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(contract) = req.extensions().get::<Arc<Contract>>().cloned() else {
        return Problem::internal().into_response();
    };
    let Some(template) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        return next.run(req).await;
    };
    // A method the document does not list for the path: the router answers 405 with Allow.
    let Some(op) = contract.operation(req.method(), &template) else {
        return next.run(req).await;
    };
    match contract
        .admit(op, &template, req, state.settings.server.max_body_bytes)
        .await
    {
        Ok(req) => next.run(req).await,
        Err(p) => p.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn contract() -> Contract {
        Contract::new(&crate::api::document()).unwrap()
    }

    fn body_errors(method: Method, path: &str, body: Value) -> Vec<String> {
        let all = body_violations(method, path, body);
        all.into_iter().map(|v| v.field).collect()
    }

    fn body_violations(method: Method, path: &str, body: Value) -> Vec<FieldViolation> {
        let c = contract();
        let op = c.operation(&method, path).unwrap();
        let mut out = Vec::new();
        let mut body = body;
        c.check(op.body.as_ref().unwrap(), &mut body, "", &mut out);
        out
    }

    #[test]
    fn the_design_example_matches_the_document_and_every_bad_field_is_named() {
        let mut body = json!({ "branch": "SH01", "channel": "hotline", "kind": "replacement", "urgency": "normal",
            "customer": { "name": "Li Wei", "phone": "+86 138 0013 8000", "address": "x", "region": "urban" },
            "product": { "category": "television", "model": "X55", "serial": "SN123",
                         "purchase_date": "2026-10-02", "invoice_no": "INV-9", "invoice_date": "2026-10-02",
                         "factory_date": "2026-08-15" },
            "fault_description": "no picture", "photos": ["https://x/1.jpg"],
            "parts": [ { "part_no": "PWR-55-01", "quantity": 1 } ] });
        let errors = body_errors(Method::POST, "/v1/requests", body.clone());
        assert!(
            errors.is_empty(),
            "{:?}",
            body_violations(Method::POST, "/v1/requests", body.clone())
        );
        body["customer"]["phone"] = json!("call me maybe");
        body["customer"]["region"] = json!("mars");
        body["parts"][0]["quantity"] = json!(0);
        body["product"]["purchase_date"] = json!("2026-02-30");
        body.as_object_mut().unwrap().remove("channel");
        let mut fields = body_errors(Method::POST, "/v1/requests", body);
        fields.sort();
        assert_eq!(
            fields,
            [
                "channel",
                "customer.phone",
                "customer.region",
                "parts[0].quantity",
                "product.purchase_date"
            ]
        );
    }

    /// A client copying an example from `/docs` gets past the gate (an example that the
    /// document itself refuses was once published for a new path).
    #[test]
    fn every_operations_example_body_matches_its_own_schema() {
        let c = contract();
        let doc = serde_json::to_value(crate::api::document()).unwrap();
        let mut checked = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let example = &op["requestBody"]["content"]["application/json"]["example"];
                if example.is_null() {
                    continue;
                }
                let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
                let o = c.operation(&method, path).unwrap();
                let mut body = example.clone();
                let mut out = Vec::new();
                c.check(o.body.as_ref().unwrap(), &mut body, "", &mut out);
                assert!(out.is_empty(), "{method} {path}: {out:?}");
                checked += 1;
            }
        }
        assert!(checked > 40, "{checked} examples");
    }

    #[test]
    fn an_integer_written_with_a_zero_fraction_is_an_integer_and_is_passed_on_as_one() {
        let c = contract();
        let op = c
            .operation(&Method::POST, "/v1/stocktakes/{stocktake_id}/counts")
            .unwrap();
        let mut body = json!({"part_no": "PWR-55-01", "zone": "qualified", "counted": 9.0});
        let mut out = Vec::new();
        c.check(op.body.as_ref().unwrap(), &mut body, "", &mut out);
        assert!(out.is_empty(), "{out:?}");
        assert_eq!(body["counted"], json!(9));
        let mut body = json!({"part_no": "PWR-55-01", "zone": "qualified", "counted": 9.5});
        c.check(op.body.as_ref().unwrap(), &mut body, "", &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn a_decision_is_one_of_three_shapes() {
        let ok = |b: Value| body_errors(Method::POST, "/v1/claims/{request_no}/decision", b);
        assert!(ok(json!({"decision": "approve"})).is_empty());
        assert!(
            ok(json!({"decision": "reject", "reason_code": "duplicate", "note": "twice"}))
                .is_empty()
        );
        assert!(
            !ok(json!({"decision": "reject", "reason_code": "duplicate", "note": "  "})).is_empty()
        );
        assert!(!ok(json!({"decision": "perhaps"})).is_empty());
        assert!(!ok(json!({"decision": "request_info", "missing": []})).is_empty());
    }

    #[test]
    fn query_parameters_are_read_as_their_schemas_say() {
        let c = contract();
        let op = c.operation(&Method::GET, "/v1/ledger").unwrap();
        let req = Request::builder()
            .uri("/v1/ledger?zone=attic&kind=receipt,theft&page_size=ten&from=yesterday")
            .body(Body::empty())
            .unwrap();
        let mut out = Vec::new();
        c.check_parameters(op, "/v1/ledger", &req, &mut out);
        let mut fields: Vec<_> = out.iter().map(|v| v.field.as_str()).collect();
        fields.sort();
        assert_eq!(fields, ["from", "kind", "page_size", "zone"]);
        let req = Request::builder()
            .uri("/v1/ledger?zone=qualified&kind=receipt,issue&page_size=10")
            .body(Body::empty())
            .unwrap();
        let mut out = Vec::new();
        c.check_parameters(op, "/v1/ledger", &req, &mut out);
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn every_operation_has_a_scope_and_the_warehouse_books_are_head_offices() {
        let c = contract();
        for path in ["/v1/ledger", "/v1/stocktakes"] {
            let method = if path == "/v1/ledger" {
                Method::GET
            } else {
                Method::POST
            };
            assert_eq!(
                c.operation(&method, path).unwrap().scope,
                Scope::HeadOffice,
                "{path}"
            );
        }
        let ledger = c.operation(&Method::GET, "/v1/ledger").unwrap();
        assert!(!ledger.roles.as_ref().unwrap().contains(&Role::BranchAgent));
        assert_eq!(
            c.operation(&Method::GET, "/v1/stock/{part_no}")
                .unwrap()
                .scope,
            Scope::Global
        );
    }
}
