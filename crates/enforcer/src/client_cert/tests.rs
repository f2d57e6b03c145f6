//! Listed certificates, CA chains, validity and hostile chains, with certificates made by rcgen.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_ECDSA_P521_SHA512, SignatureAlgorithm,
};
use rustls::pki_types::CertificateDer;

use super::decision::MAX_CHAIN_CERTIFICATES;
use super::*;

/// 2026-12-07, inside every validity period below.
const NOW: u64 = 1_796_601_600;
const YEAR: u64 = 365 * 24 * 3600;

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A CA (or intermediate) and its key.
struct Authority {
    issuer: Issuer<'static, KeyPair>,
    der: CertificateDer<'static>,
    pem: String,
}

fn params(name: &str, ca: bool, from: u64, to: u64) -> TestResult<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name.push(DnType::CommonName, name);
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    params.not_before = time::OffsetDateTime::from_unix_timestamp(i64::try_from(from)?)?;
    params.not_after = time::OffsetDateTime::from_unix_timestamp(i64::try_from(to)?)?;
    Ok(params)
}

fn root(name: &str) -> TestResult<Authority> {
    let key = KeyPair::generate()?;
    let params = params(name, true, NOW - YEAR, NOW + YEAR)?;
    let cert = params.self_signed(&key)?;
    Ok(Authority { der: cert.der().clone(), pem: cert.pem(), issuer: Issuer::new(params, key) })
}

fn intermediate(name: &str, by: &Authority) -> TestResult<Authority> {
    let key = KeyPair::generate()?;
    let params = params(name, true, NOW - YEAR, NOW + YEAR)?;
    let cert = params.signed_by(&key, &by.issuer)?;
    Ok(Authority { der: cert.der().clone(), pem: cert.pem(), issuer: Issuer::new(params, key) })
}

/// A leaf issued by `by` (self-signed without), valid from `from` to `to`.
fn leaf(
    by: Option<&Authority>,
    from: u64,
    to: u64,
    algorithm: &'static SignatureAlgorithm,
) -> TestResult<(CertificateDer<'static>, String)> {
    let key = KeyPair::generate_for(algorithm)?;
    let params = params("client", false, from, to)?;
    let cert = match by {
        Some(by) => params.signed_by(&key, &by.issuer)?,
        None => params.self_signed(&key)?,
    };
    Ok((cert.der().clone(), cert.pem()))
}

fn valid_leaf(by: Option<&Authority>) -> TestResult<(CertificateDer<'static>, String)> {
    leaf(by, NOW - 60, NOW + YEAR, &rcgen::PKCS_ECDSA_P256_SHA256)
}

fn listing(entries: &[(&str, &str)]) -> TestResult<Arc<ClientCertificates>> {
    let entries = entries
        .iter()
        .map(|(alias, pem)| ClientCertificate::from_pem("api-1", alias, pem, Some("Gold")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(ClientCertificates::new(entries)))
}

fn chain(certificates: &[&CertificateDer<'static>]) -> PresentedChain {
    PresentedChain::new(certificates.iter().map(|c| (*c).clone()).collect()).unwrap_or_else(|| unreachable!())
}

fn accepted_alias(
    listed: &Arc<ClientCertificates>,
    presented: &PresentedChain,
    now: u64,
) -> Result<String, CertificateRefusal> {
    listed.accept(presented, now).map(|accepted| accepted.alias.to_string())
}

#[test]
fn a_listed_leaf_is_accepted_by_itself_and_an_unlisted_one_is_not() -> TestResult {
    let (listed_der, listed_pem) = valid_leaf(None)?;
    let (other_der, _) = valid_leaf(None)?;
    let listed = listing(&[("mine", &listed_pem)])?;
    assert_eq!(accepted_alias(&listed, &chain(&[&listed_der]), NOW), Ok("mine".to_owned()));
    assert_eq!(accepted_alias(&listed, &chain(&[&other_der]), NOW), Err(CertificateRefusal::NotListed));
    Ok(())
}

#[test]
fn a_leaf_issued_by_a_listed_ca_is_accepted_directly_or_through_intermediates() -> TestResult {
    let ca = root("Test CA")?;
    let middle = intermediate("Intermediate", &ca)?;
    let (direct, _) = valid_leaf(Some(&ca))?;
    let (indirect, _) = valid_leaf(Some(&middle))?;
    let listed = listing(&[("ca", &ca.pem)])?;
    assert!(listed.iter().all(ClientCertificate::is_ca));
    assert_eq!(accepted_alias(&listed, &chain(&[&direct]), NOW), Ok("ca".to_owned()));
    assert_eq!(accepted_alias(&listed, &chain(&[&indirect, &middle.der]), NOW), Ok("ca".to_owned()));
    assert_eq!(
        accepted_alias(&listed, &chain(&[&indirect]), NOW),
        Err(CertificateRefusal::NotListed),
        "without the intermediate the chain does not reach the CA"
    );
    Ok(())
}

#[test]
fn a_leaf_of_a_listed_leaf_is_not_accepted_and_neither_is_a_foreign_cas() -> TestResult {
    let (listed_der, listed_pem) = valid_leaf(None)?;
    let foreign = root("Foreign CA")?;
    let (foreign_leaf, _) = valid_leaf(Some(&foreign))?;
    let listed = listing(&[("mine", &listed_pem), ("ca", &root("Test CA")?.pem)])?;
    assert_eq!(
        accepted_alias(&listed, &chain(&[&foreign_leaf, &foreign.der]), NOW),
        Err(CertificateRefusal::NotListed)
    );
    assert_eq!(accepted_alias(&listed, &chain(&[&listed_der]), NOW), Ok("mine".to_owned()));
    Ok(())
}

#[test]
fn validity_is_checked_at_every_request_even_when_the_decision_is_remembered() -> TestResult {
    let ca = root("Test CA")?;
    let (short, _) = leaf(Some(&ca), NOW - 60, NOW + 60, &rcgen::PKCS_ECDSA_P256_SHA256)?;
    let (expired, _) = leaf(Some(&ca), NOW - YEAR, NOW - 60, &rcgen::PKCS_ECDSA_P256_SHA256)?;
    let (future, _) = leaf(Some(&ca), NOW + 60, NOW + YEAR, &rcgen::PKCS_ECDSA_P256_SHA256)?;
    let listed = listing(&[("ca", &ca.pem)])?;
    let presented = chain(&[&short]);
    assert_eq!(accepted_alias(&listed, &presented, NOW), Ok("ca".to_owned()));
    assert_eq!(accepted_alias(&listed, &presented, NOW + 61), Err(CertificateRefusal::OutsideValidity), "remembered");
    assert_eq!(accepted_alias(&listed, &chain(&[&expired]), NOW), Err(CertificateRefusal::OutsideValidity));
    let not_yet = chain(&[&future]);
    assert_eq!(accepted_alias(&listed, &not_yet, NOW), Err(CertificateRefusal::OutsideValidity));
    assert_eq!(accepted_alias(&listed, &not_yet, NOW + 61), Ok("ca".to_owned()), "a time refusal is not remembered");
    let (expired_listed, expired_pem) = leaf(None, NOW - YEAR, NOW - 60, &rcgen::PKCS_ECDSA_P256_SHA256)?;
    let listed = listing(&[("old", &expired_pem)])?;
    assert_eq!(accepted_alias(&listed, &chain(&[&expired_listed]), NOW), Err(CertificateRefusal::OutsideValidity));
    Ok(())
}

#[test]
fn a_decision_is_remembered_only_for_the_certificates_it_was_made_against() -> TestResult {
    let (der, pem) = valid_leaf(None)?;
    let presented = chain(&[&der]);
    let before = listing(&[("mine", &pem)])?;
    assert!(before.accept(&presented, NOW).is_ok());
    let after = listing(&[("other", &valid_leaf(None)?.1)])?;
    assert_eq!(
        accepted_alias(&after, &presented, NOW),
        Err(CertificateRefusal::NotListed),
        "a new snapshot decides anew"
    );
    Ok(())
}

#[test]
fn hostile_chains_are_refused_without_panicking() -> TestResult {
    let ca = root("Test CA")?;
    let (good, _) = valid_leaf(Some(&ca))?;
    let listed = listing(&[("ca", &ca.pem)])?;
    let long: Vec<&CertificateDer<'static>> = std::iter::repeat_n(&ca.der, MAX_CHAIN_CERTIFICATES).collect();
    let mut too_long = vec![&good];
    too_long.extend(long);
    assert_eq!(accepted_alias(&listed, &chain(&too_long), NOW), Err(CertificateRefusal::ChainTooLong));
    let huge = CertificateDer::from(vec![0x30; 40 * 1024]);
    assert_eq!(accepted_alias(&listed, &chain(&[&huge]), NOW), Err(CertificateRefusal::ChainTooLong));
    for garbage in [&b""[..], b"\x30\x03\x02\x01\x00", b"not a certificate at all", &good[..good.len() / 2]] {
        let garbage = CertificateDer::from(garbage.to_vec());
        assert_eq!(accepted_alias(&listed, &chain(&[&garbage]), NOW), Err(CertificateRefusal::Malformed));
        let extra = accepted_alias(&listed, &chain(&[&good, &garbage]), NOW);
        assert_eq!(extra, Ok("ca".to_owned()), "an unusable extra certificate is not needed, so ignored");
    }
    let (p521, _) = leaf(Some(&ca), NOW - 60, NOW + YEAR, &PKCS_ECDSA_P521_SHA512)?;
    assert!(
        accepted_alias(&listed, &chain(&[&p521]), NOW).is_ok(),
        "webpki checks the CA's signature, not the leaf key"
    );
    assert!(PresentedChain::new(Vec::new()).is_none(), "no certificate is no chain");
    Ok(())
}

#[test]
fn entries_must_be_one_supported_certificate() -> TestResult {
    let (_, pem) = valid_leaf(None)?;
    let parse =
        |pem: &str| ClientCertificate::from_pem("api", "alias", pem, None).map(|entry| entry.policy().to_string());
    assert_eq!(parse(&pem), Ok("Unlimited".to_owned()));
    assert_eq!(parse(""), Err(CertificateProblem::NotOneCertificate(0)));
    assert_eq!(parse(&format!("{pem}{pem}")), Err(CertificateProblem::NotOneCertificate(2)));
    assert_eq!(parse(&"A".repeat(MAX_CERTIFICATE_PEM_BYTES + 1)), Err(CertificateProblem::TooLarge));
    let garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(matches!(parse(garbage), Err(CertificateProblem::Malformed(_))));
    let (_, p521) = leaf(None, NOW - 60, NOW + YEAR, &PKCS_ECDSA_P521_SHA512)?;
    assert!(matches!(parse(&p521), Err(CertificateProblem::UnsupportedKey(_))));
    let (_, ed25519) = leaf(None, NOW - 60, NOW + YEAR, &rcgen::PKCS_ED25519)?;
    assert!(parse(&ed25519).is_ok());
    Ok(())
}
