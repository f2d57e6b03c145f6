use std::borrow::Cow;

use super::{PathError, normalise};

fn normal(path: &str) -> String {
    match normalise(path) {
        Ok(normal) => normal.into_owned(),
        Err(e) => panic!("{path:?} was refused: {e}"),
    }
}

fn refused(path: &str) -> PathError {
    match normalise(path) {
        Ok(normal) => panic!("{path:?} was accepted as {normal:?}"),
        Err(e) => e,
    }
}

#[test]
fn normal_paths_are_borrowed_unchanged() {
    for path in ["/", "/pets", "/pets/", "/pets/7/toys", "/a%20b", "/%C3%A9", "/caf\u{e9}", "/a.b/..c/...", "/%25"] {
        assert!(matches!(normalise(path), Ok(Cow::Borrowed(p)) if p == path), "{path}");
    }
}

#[test]
fn must_start_with_a_slash() {
    for path in ["", "*", "pets", "%2Fpets"] {
        assert_eq!(refused(path), PathError::NotAbsolute, "{path:?}");
    }
}

#[test]
fn decodes_unreserved_escapes_only() {
    assert_eq!(normal("/%41%7a%30%2D%2e%5F%7E"), "/Az0-._~");
    assert_eq!(normal("/pets/%37"), "/pets/7");
    // Reserved and other characters keep their escapes, hex case included.
    assert_eq!(normal("/a%3a%3Ab%20%25%C3%a9"), "/a%3a%3Ab%20%25%C3%a9");
    // A decoded `%25` is not decoded again: `%2541` is `%25` followed by `41`.
    assert_eq!(normal("/%2541"), "/%2541");
}

#[test]
fn collapses_slash_runs_and_keeps_a_trailing_slash() {
    assert_eq!(normal("//"), "/");
    assert_eq!(normal("///pets"), "/pets");
    assert_eq!(normal("/pets//7"), "/pets/7");
    assert_eq!(normal("/pets///"), "/pets/");
    assert_eq!(normal("//a//b//"), "/a/b/");
}

#[test]
fn refuses_dot_segments_raw_or_encoded() {
    for path in [
        "/.",
        "/..",
        "/./",
        "/../",
        "/a/./b",
        "/a/../b",
        "/a/..",
        "//..",
        "/%2e",
        "/%2E",
        "/%2e%2E",
        "/.%2e",
        "/%2E.",
        "/a/%2e%2e/b",
    ] {
        assert_eq!(refused(path), PathError::DotSegment, "{path}");
    }
    // Dots inside a longer segment are ordinary characters.
    assert_eq!(normal("/.well-known/%2e%2e%2e/a..b"), "/.well-known/.../a..b");
}

#[test]
fn refuses_an_encoded_slash() {
    for path in ["/a%2fb", "/a%2Fb", "/%2F", "/%2e%2f"] {
        assert_eq!(refused(path), PathError::EncodedSlash, "{path}");
    }
}

#[test]
fn refuses_a_backslash_raw_or_encoded() {
    for path in ["/a\\b", "/\\", "/a%5cb", "/a%5Cb", "/..\\"] {
        assert_eq!(refused(path), PathError::Backslash, "{path}");
    }
}

#[test]
fn refuses_malformed_escapes() {
    for path in ["/%", "/a%", "/%2", "/%zz", "/%g0", "/%0g", "/%%41", "/a%2/b", "/%\u{e9}9"] {
        assert_eq!(refused(path), PathError::MalformedEscape, "{path:?}");
    }
}

#[test]
fn refuses_an_encoded_nul() {
    assert_eq!(refused("/a%00b"), PathError::EncodedNul);
}

#[test]
fn normalising_twice_changes_nothing() {
    for path in ["//a/%41//%2541/", "/%7e%7E/%3F", "/x//", "/%2D%2d/b%20c", "//"] {
        let once = normal(path);
        assert!(matches!(normalise(&once), Ok(Cow::Borrowed(p)) if p == once), "{path} -> {once}");
    }
}

#[test]
fn refuses_dot_segments_followed_by_parameters() {
    for path in [
        "/public/..;/private/x",
        "/public/..;jsessionid=1/x",
        "/a/.;/b",
        "/a/%2e%2e;/b",
        "/a/..%3b/b",
        "/a/..%3B/b",
        "/a/%2e%2e%3bx=1/b",
        "/a/..;",
    ] {
        assert_eq!(refused(path), PathError::DotSegment, "{path}");
    }
    // Parameters on an ordinary segment, or dots after the parameters, are ordinary text.
    assert_eq!(normal("/a;v=1/b;..;x/%3b.."), "/a;v=1/b;..;x/%3b..");
    assert_eq!(normal("/...;x"), "/...;x");
}

#[test]
fn refuses_double_encoded_dots_slashes_and_backslashes() {
    for path in ["/%252e%252e/x", "/a%252fb", "/a%252Fb", "/%252E", "/a%255cb", "/a%255C", "/%25%32%65", "/%25%32%46"] {
        assert_eq!(refused(path), PathError::DoubleEncoded, "{path}");
    }
    // A double-encoded ordinary character stays as sent.
    assert_eq!(normal("/%2541/%2520"), "/%2541/%2520");
}

#[test]
fn refuses_escapes_that_are_not_utf8() {
    for path in ["/%c0%ae/x", "/%C0%AE%C0%AE", "/%ff", "/%e9", "/%C3"] {
        assert_eq!(refused(path), PathError::NotUtf8, "{path}");
    }
    assert_eq!(normal("/%C3%A9/caf%c3%a9"), "/%C3%A9/caf%c3%a9");
}
