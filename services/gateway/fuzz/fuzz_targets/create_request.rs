//! The JSON decoding of `POST /v1/requests`: any bytes either decode (and convert to the proto)
//! or answer one 400 naming a field; nothing panics.
#![no_main]

use gateway::api::wire::CreateRequest;
use gateway::extract::parse_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_json::<CreateRequest>(data) {
        Ok(request) => {
            let _ = request.into_proto("fuzz".to_owned());
        }
        Err(problem) => {
            assert_eq!(problem.status, 400);
            assert_eq!(problem.violations.len(), 1);
        }
    }
});
