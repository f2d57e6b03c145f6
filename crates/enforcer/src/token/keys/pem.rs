use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_NIST_EC_P384, OID_PKCS1_RSAENCRYPTION, OID_SIG_ED25519,
};
use x509_parser::prelude::{FromDer, SubjectPublicKeyInfo};
use x509_parser::public_key::RSAPublicKey;

use super::verification_key::{KeyError, KeyKind, VerificationKey};

/// Parses a key manager's `certificate`: the first PEM block, a `PUBLIC KEY` (SPKI), an
/// `RSA PUBLIC KEY` (PKCS#1) or a `CERTIFICATE` (its subject public key; the certificate's
/// validity and chain are not checked: it is only a way to carry a key).
pub(crate) fn parse_pem(pem: &str) -> Result<VerificationKey, KeyError> {
    let (_, block) =
        x509_parser::pem::parse_x509_pem(pem.trim_start().as_bytes()).map_err(|_| KeyError::BadPem("no PEM block"))?;
    match block.label.as_str() {
        "CERTIFICATE" => {
            let certificate = block.parse_x509().map_err(|_| KeyError::BadPem("bad certificate"))?;
            spki_key(certificate.public_key())
        }
        "PUBLIC KEY" => {
            let (_, spki) =
                SubjectPublicKeyInfo::from_der(&block.contents).map_err(|_| KeyError::BadPem("bad public key"))?;
            spki_key(&spki)
        }
        "RSA PUBLIC KEY" => {
            let (_, rsa) = RSAPublicKey::from_der(&block.contents).map_err(|_| KeyError::BadPem("bad RSA key"))?;
            VerificationKey::rsa(None, None, rsa.modulus, rsa.exponent)
        }
        _ => Err(KeyError::BadPem("not a public key or certificate")),
    }
}

fn spki_key(spki: &SubjectPublicKeyInfo<'_>) -> Result<VerificationKey, KeyError> {
    let algorithm = &spki.algorithm.algorithm;
    let key = &*spki.subject_public_key.data;
    if *algorithm == OID_PKCS1_RSAENCRYPTION {
        let (_, rsa) = RSAPublicKey::from_der(key).map_err(|_| KeyError::BadPem("bad RSA key"))?;
        VerificationKey::rsa(None, None, rsa.modulus, rsa.exponent)
    } else if *algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        let curve = spki.algorithm.parameters.as_ref().and_then(|p| p.as_oid().ok());
        let kind = match curve {
            Some(oid) if oid == OID_EC_P256 => KeyKind::P256,
            Some(oid) if oid == OID_NIST_EC_P384 => KeyKind::P384,
            Some(oid) => return Err(KeyError::UnsupportedCurve(oid.to_id_string())),
            None => return Err(KeyError::BadPem("EC key without a named curve")),
        };
        VerificationKey::ec(None, None, kind, key)
    } else if *algorithm == OID_SIG_ED25519 {
        VerificationKey::ed25519(None, None, key)
    } else {
        Err(KeyError::UnsupportedKeyType(algorithm.to_id_string()))
    }
}
