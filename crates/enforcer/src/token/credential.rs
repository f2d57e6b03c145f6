use http::{HeaderMap, HeaderName, HeaderValue};

/// The API's credential header (its `authorizationHeader`) as the request sent it.
///
/// Sent more than once, it is refused whatever the copies say (client.md, "Forwarding"): a
/// gateway that read the first copy and an upstream or log that read another would disagree on
/// who called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialHeader<'a> {
    Absent,
    Once(&'a HeaderValue),
    Repeated,
}

// === impl CredentialHeader ===

impl<'a> CredentialHeader<'a> {
    /// The header `name` of `headers`: absent, sent once, or repeated. Looks no further than
    /// a second copy.
    pub fn of(headers: &'a HeaderMap, name: &HeaderName) -> Self {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (None, _) => CredentialHeader::Absent,
            (Some(value), None) => CredentialHeader::Once(value),
            (Some(_), Some(_)) => CredentialHeader::Repeated,
        }
    }
}

impl<'a> From<Option<&'a HeaderValue>> for CredentialHeader<'a> {
    /// A single header's value, or none.
    fn from(value: Option<&'a HeaderValue>) -> Self {
        value.map_or(CredentialHeader::Absent, CredentialHeader::Once)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, reason = "tests: a broken fixture must fail loudly")]
mod tests {
    use http::header::AUTHORIZATION;

    use super::*;

    #[test]
    fn a_second_copy_makes_it_repeated_whatever_the_values() {
        let mut headers = HeaderMap::new();
        assert_eq!(CredentialHeader::of(&headers, &AUTHORIZATION), CredentialHeader::Absent);
        let good = HeaderValue::from_static("Bearer good");
        headers.append(AUTHORIZATION, good.clone());
        assert_eq!(CredentialHeader::of(&headers, &AUTHORIZATION), CredentialHeader::Once(&good));
        headers.append(AUTHORIZATION, good.clone());
        assert_eq!(CredentialHeader::of(&headers, &AUTHORIZATION), CredentialHeader::Repeated, "same value twice");
        headers.append(AUTHORIZATION, HeaderValue::from_static(""));
        assert_eq!(CredentialHeader::of(&headers, &AUTHORIZATION), CredentialHeader::Repeated);
        let other = HeaderName::from_static("x-token");
        assert_eq!(CredentialHeader::of(&headers, &other), CredentialHeader::Absent);
    }
}
