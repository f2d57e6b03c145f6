//! An upstream's response bytes, read as the lean HTTP/1.1 exchange reads them (head, 1xx
//! skipping, Content-Length / chunked / until-close framing), must never panic, and a body
//! that decodes must decode the same however the bytes were framed by the fuzzer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_router::proxy::decode_response;

fuzz_target!(|data: &[u8]| {
    let _ = decode_response(data);
    // The same body re-sent as one chunk must decode to itself.
    let mut wire = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n", data.len()).into_bytes();
    wire.extend_from_slice(data);
    wire.extend_from_slice(b"\r\n0\r\n\r\n");
    let decoded = decode_response(&wire);
    assert_eq!(decoded.map(|(_, body)| body).as_deref(), Some(data));
});
