//! The `Date` header value, formatted once a second per thread (as hyper caches it).

use std::cell::RefCell;
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// `Sun, 06 Nov 1994 08:49:37 GMT`.
const LENGTH: usize = 29;

thread_local! {
    static CACHED: RefCell<(u64, [u8; LENGTH])> = const { RefCell::new((u64::MAX, [b' '; LENGTH])) };
}

/// The current time as an HTTP date.
pub(super) fn now() -> [u8; LENGTH] {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_secs());
    CACHED.with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.0 != second {
            let mut formatted = [b' '; LENGTH];
            let _ = write!(&mut formatted[..], "{}", httpdate::HttpDate::from(now));
            *cached = (second, formatted);
        }
        cached.1
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_date_is_an_http_date() {
        let date = super::now();
        let text = std::str::from_utf8(&date).unwrap_or_default();
        assert!(httpdate::parse_http_date(text).is_ok(), "{text}");
    }
}
