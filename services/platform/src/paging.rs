//! Pages of a list: one opaque keyset token scheme for every list RPC (DESIGN §7). A token is the
//! sort key of the last row of the previous page, serialized and encoded so clients treat it as
//! opaque; the next page is `WHERE key < token ORDER BY key DESC LIMIT n` (or `>` ascending),
//! which stays correct while rows are added, unlike an offset.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

const VERSION: &str = "p1.";

/// Encodes the sort key of the last row of a page.
pub fn encode<K: Serialize>(key: &K) -> String {
    let json = serde_json::to_vec(key).unwrap_or_default();
    format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(json))
}

/// The key a token stands for; `None` for the empty token (the first page). A token this
/// service did not issue is an error worded for the caller (`page_token: …`).
pub fn decode<K: DeserializeOwned>(token: &str) -> Result<Option<K>, String> {
    let t = token.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let bad = || "is not a page token this list issued".to_owned();
    let body = t.strip_prefix(VERSION).ok_or_else(bad)?;
    let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
    serde_json::from_slice(&bytes).map(Some).map_err(|_| bad())
}

/// The page size to use: `requested` (0 means `default`), at most `max`.
pub fn page_size(requested: u32, default: u32, max: u32) -> Result<u64, String> {
    match requested {
        0 => Ok(default.min(max) as u64),
        n if n <= max => Ok(n as u64),
        _ => Err(format!("must be at most {max}")),
    }
}

/// The next page's token: the key of the last row when the page was full, else empty.
pub fn next_token<K: Serialize>(rows_returned: usize, page_size: u64, last: Option<K>) -> String {
    match last {
        Some(k) if rows_returned as u64 >= page_size && page_size > 0 => encode(&k),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_and_a_forged_one_is_refused() {
        let key = (
            "2026-11-30T06:00:00Z".to_owned(),
            "AS-2611-SH01-000001".to_owned(),
        );
        let t = encode(&key);
        assert_eq!(decode::<(String, String)>(&t).unwrap(), Some(key));
        assert_eq!(decode::<(String, String)>("").unwrap(), None);
        assert!(decode::<(String, String)>("o42").is_err());
        assert!(decode::<(String, String)>("p1.!!!").is_err());
        assert!(decode::<i64>(&encode(&"text")).is_err());
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size(0, 50, 200).unwrap(), 50);
        assert_eq!(page_size(200, 50, 200).unwrap(), 200);
        assert!(page_size(201, 50, 200).is_err());
        assert_eq!(next_token(2, 2, Some(7i64)), encode(&7i64));
        assert_eq!(next_token(1, 2, Some(7i64)), "");
    }
}
