//! Loading: key formats, every load error, the expiry gauge, the self-signed default.

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519, PKCS_RSA_SHA256};

use rustls_pki_types::pem::PemObject;

use super::*;
use crate::tls::{SniCertPaths, TlsError, TlsMetrics, TlsSettings};

fn load_default(paths: CertPaths) -> Result<Tls, TlsError> {
    let metrics = TlsMetrics::unregistered().map_err(|error| TlsError::SelfSigned { reason: error.to_string() })?;
    Tls::load(TlsSettings { default: Some(paths), sni: vec![] }, metrics)
}

/// Loads `leaf` with `key_pem` as the default and checks a client gets it.
async fn serves(pki: &Pki, leaf: &Leaf, key_pem: &str) -> TestResult {
    let dir = tempfile::tempdir()?;
    let tls = load_default(leaf.write_with_key(dir.path(), "tls", key_pem)?)?;
    let server = Server::start(&tls).await?;
    let mut stream = connect(server.addr, &Client::default().config(pki.roots()?)?, "gateway.test").await?;
    assert_eq!(presented(&stream)?, leaf.der);
    echo(&mut stream, b"ping").await
}

#[tokio::test]
async fn pkcs8_pkcs1_and_sec1_keys_load_and_serve() -> TestResult {
    let pki = Pki::new()?;
    let rsa = pki.leaf_with(&["gateway.test"], KeyPair::generate_for(&PKCS_RSA_SHA256)?, |_| {})?;
    serves(&pki, &rsa, &rsa.key.serialize_pem()).await?;
    serves(&pki, &rsa, &rsa.key_pem_unwrapped("RSA PRIVATE KEY")?).await?;
    for alg in [&PKCS_ECDSA_P256_SHA256, &PKCS_ECDSA_P384_SHA384] {
        let ec = pki.leaf_with(&["gateway.test"], KeyPair::generate_for(alg)?, |_| {})?;
        serves(&pki, &ec, &ec.key.serialize_pem()).await?;
        serves(&pki, &ec, &ec.key_pem_unwrapped("EC PRIVATE KEY")?).await?;
    }
    let ed25519 = pki.leaf_with(&["gateway.test"], KeyPair::generate_for(&PKCS_ED25519)?, |_| {})?;
    serves(&pki, &ed25519, &ed25519.key.serialize_pem()).await
}

#[test]
fn a_key_not_matching_its_certificate_is_refused_at_load() -> TestResult {
    let pki = Pki::new()?;
    let dir = tempfile::tempdir()?;
    let leaf = pki.leaf(&["gateway.test"])?;
    let other = KeyPair::generate()?;
    let paths = leaf.write_with_key(dir.path(), "tls", &other.serialize_pem())?;
    let error = load_default(paths.clone()).err().ok_or("loaded a mismatched pair")?;
    assert!(
        matches!(&error, TlsError::KeyMismatch { cert, key } if *cert == paths.cert && *key == paths.key),
        "{error}"
    );
    Ok(())
}

#[test]
fn load_errors_name_the_file_and_the_failure() -> TestResult {
    let pki = Pki::new()?;
    let dir = tempfile::tempdir()?;
    let leaf = pki.leaf(&["gateway.test"])?;
    let good = leaf.write(dir.path(), "good")?;
    let file = |name: &str, contents: &str| -> TestResult<std::path::PathBuf> {
        let path = dir.path().join(name);
        std::fs::write(&path, contents)?;
        Ok(path)
    };
    let garbage_key = pem("PRIVATE KEY", b"not a key");
    let cases = [
        (CertPaths { cert: dir.path().join("absent.crt"), key: good.key.clone() }, "no such file"),
        (CertPaths { cert: good.cert.clone(), key: dir.path().join("absent.key") }, "no such file"),
        (CertPaths { cert: file("empty.crt", "")?, key: good.key.clone() }, "no CERTIFICATE"),
        (CertPaths { cert: file("key-only.crt", &leaf.key.serialize_pem())?, key: good.key.clone() }, "no CERTIFICATE"),
        (CertPaths { cert: good.cert.clone(), key: good.cert.clone() }, "no private key"),
        (CertPaths { cert: good.cert.clone(), key: file("garbage.key", &garbage_key)? }, "unsupported private key"),
        (
            CertPaths { cert: file("bad.crt", &pem("CERTIFICATE", b"junk"))?, key: good.key.clone() },
            "invalid certificate",
        ),
        (
            CertPaths { cert: file("broken.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n")?, key: good.key },
            "malformed PEM",
        ),
    ];
    for (paths, failure) in cases {
        let error = load_default(paths.clone()).err().ok_or("loaded a broken pair")?.to_string();
        assert!(error.contains(failure), "{error:?} should say {failure:?}");
        let named = [&paths.cert, &paths.key].iter().any(|path| error.contains(&*path.to_string_lossy()));
        assert!(named, "{error:?} should name the file");
    }
    Ok(())
}

#[test]
fn bad_or_duplicate_server_names_are_refused_all_at_once() -> TestResult {
    let pki = Pki::new()?;
    let dir = tempfile::tempdir()?;
    let paths = pki.leaf(&["a.test"])?.write(dir.path(), "a")?;
    let entry = |names: &[&str]| SniCertPaths {
        server_names: names.iter().map(|name| name.to_string()).collect(),
        cert: paths.cert.clone(),
        key: paths.key.clone(),
    };
    let settings = TlsSettings {
        default: Some(paths.clone()),
        sni: vec![entry(&["a.test", "10.0.0.1"]), entry(&["A.test"]), entry(&[]), entry(&["*.test"])],
    };
    let Err(TlsError::Several(errors)) = Tls::load(settings, TlsMetrics::unregistered()?) else {
        return Err("expected several errors".into());
    };
    assert!(
        matches!(&errors[..], [
        TlsError::BadServerName { name: ip, .. },
        TlsError::DuplicateServerName { name: duplicate },
        TlsError::NoServerNames { .. },
        TlsError::BadServerName { name: wildcard, .. },
    ] if ip == "10.0.0.1" && duplicate == "a.test" && wildcard == "*.test"),
        "{errors:?}"
    );
    Ok(())
}

#[test]
fn expiry_gauge_is_set_per_server_name_and_default() -> TestResult {
    let pki = Pki::new()?;
    let dir = tempfile::tempdir()?;
    let expiring = |names: &[&str], not_after| {
        pki.leaf_with(names, KeyPair::generate()?, |params| {
            params.not_after = time::OffsetDateTime::from_unix_timestamp(not_after).unwrap_or(params.not_after);
        })
    };
    let sni = expiring(&["a.test", "*.b.test"], 2_000_000_000)?.write(dir.path(), "sni")?;
    let settings = TlsSettings {
        default: Some(expiring(&["default.test"], 1_900_000_000)?.write(dir.path(), "default")?),
        sni: vec![SniCertPaths {
            server_names: vec!["a.test".into(), "*.B.test".into()],
            cert: sni.cert,
            key: sni.key,
        }],
    };
    let registry = prometheus::Registry::new();
    Tls::load(settings, TlsMetrics::register(&registry)?)?;
    let gauges = expiry_gauges(&registry);
    assert_eq!(
        gauges,
        [
            ("*.b.test".to_owned(), 2_000_000_000),
            ("a.test".to_owned(), 2_000_000_000),
            ("default".to_owned(), 1_900_000_000)
        ]
    );
    Ok(())
}

/// `(server_name, value)` of `tollgate_tls_certificate_expiry_timestamp_seconds`, sorted.
pub(super) fn expiry_gauges(registry: &prometheus::Registry) -> Vec<(String, i64)> {
    let families = registry.gather();
    let family = families.iter().find(|family| family.name() == "tollgate_tls_certificate_expiry_timestamp_seconds");
    let mut gauges: Vec<_> = family
        .iter()
        .flat_map(|family| family.get_metric())
        .map(|metric| {
            let label = metric.get_label().iter().find(|label| label.name() == "server_name");
            (label.map(|label| label.value().to_owned()).unwrap_or_default(), metric.get_gauge().get_value() as i64)
        })
        .collect();
    gauges.sort();
    gauges
}

#[tokio::test]
async fn without_a_default_a_trusted_self_signed_localhost_certificate_is_served() -> TestResult {
    let registry = prometheus::Registry::new();
    let tls = Tls::load(TlsSettings::default(), TlsMetrics::register(&registry)?)?;
    assert!(tls.is_self_signed());
    let pem = tls.self_signed_cert_pem().ok_or("no self-signed PEM")?;
    let der = CertificateDer::from_pem_slice(pem.as_bytes())?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)?;
    assert_eq!(cert.signature_algorithm.algorithm, x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA256);
    let curve = cert.public_key().algorithm.parameters.as_ref().and_then(|params| params.as_oid().ok());
    assert_eq!(curve, Some(x509_parser::oid_registry::OID_EC_P256));
    let sans = cert.subject_alternative_name()?.ok_or("no subjectAltName")?;
    let names: Vec<String> = sans.value.general_names.iter().map(san_string).collect();
    assert_eq!(names, ["localhost", "127.0.0.1", "::1"]);
    assert_eq!(expiry_gauges(&registry), [("default".to_owned(), cert.validity().not_after.timestamp())]);

    let server = Server::start(&tls).await?;
    let mut roots = RootCertStore::empty();
    roots.add(der.clone())?;
    let mut stream = connect(server.addr, &Client::default().config(roots)?, "localhost").await?;
    assert_eq!(presented(&stream)?, der);
    echo(&mut stream, b"ping").await
}

fn san_string(name: &x509_parser::extensions::GeneralName<'_>) -> String {
    use x509_parser::extensions::GeneralName;

    if let GeneralName::DNSName(name) = name {
        return name.to_string();
    }
    if let GeneralName::IPAddress(ip) = name {
        let v4 = <[u8; 4]>::try_from(*ip).map(|ip| std::net::IpAddr::from(ip).to_string());
        let v6 = <[u8; 16]>::try_from(*ip).map(|ip| std::net::IpAddr::from(ip).to_string());
        return v4.or(v6).unwrap_or_default();
    }
    format!("{name:?}")
}

#[test]
fn a_configured_default_is_not_self_signed() -> TestResult {
    let pki = Pki::new()?;
    let dir = tempfile::tempdir()?;
    let tls = load_default(pki.leaf(&["gateway.test"])?.write(dir.path(), "tls")?)?;
    assert!(!tls.is_self_signed());
    assert_eq!(tls.self_signed_cert_pem(), None);
    Ok(())
}
