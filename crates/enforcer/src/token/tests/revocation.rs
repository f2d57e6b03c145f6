//! Revocation by signature holds for every spelling of the signature (model.md,
//! "RevokedToken"): the ECDSA twin `(r, n - s)`, which verifies, and base64url spellings,
//! which the verifier refuses anyway.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::elliptic_curve::ff::PrimeField;
use p256::elliptic_curve::{CurveArithmetic, FieldBytes};

use super::{NOW, TestKey, World, claims, pem_source};
use crate::enforcement::Revocations;
use crate::model::{RevokedId, RevokedToken};
use crate::rejection::{Rejection, TokenError};

const REVOKED: Option<Rejection> = Some(Rejection::InvalidToken(TokenError::Revoked));

/// A token of `key` without `jti`, so that only its signature can revoke it.
fn without_jti(key: &TestKey) -> String {
    let mut claims = claims();
    claims.as_object_mut().map(|claims| claims.remove("jti"));
    key.sign(&claims)
}

fn signature(token: &str) -> &str {
    token.rsplit_once('.').map(|(_, signature)| signature).expect("a compact JWS")
}

/// `token` with its ECDSA signature `(r, s)` replaced by `(r, n - s)`: what a holder of a
/// revoked token computes offline.
fn high_s_twin(token: &str) -> String {
    let (signing_input, signature) = token.rsplit_once('.').expect("a compact JWS");
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).expect("base64url");
    match bytes.len() {
        64 => negate_s::<p256::NistP256>(&mut bytes),
        96 => negate_s::<p384::NistP384>(&mut bytes),
        other => panic!("not an ES256/ES384 signature: {other} bytes"),
    }
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

fn negate_s<C: CurveArithmetic>(signature: &mut [u8]) {
    let (_, s) = signature.split_at_mut(signature.len() / 2);
    let repr = FieldBytes::<C>::from_exact_iter(s.iter().copied()).expect("s of the curve's size");
    let scalar = Option::<C::Scalar>::from(C::Scalar::from_repr(repr)).expect("s below the order");
    s.copy_from_slice(&(-scalar).to_repr());
}

fn revoking(world: &World, spelling: &str) -> crate::enforcement::Enforcement {
    let revoked = RevokedToken { id: RevokedId::Signature(spelling.into()), expires_at: NOW + 600 };
    let mut data = world.data.clone();
    data.revocations = Revocations::new([revoked], NOW).into();
    data
}

#[tokio::test]
async fn a_revoked_ecdsa_token_is_refused_under_either_s() {
    for key in [TestKey::p256("k"), TestKey::p384("k")] {
        let world = World::new(pem_source(key.public_pem()));
        let token = without_jti(&key);
        let twin = high_s_twin(&token);
        for spelling in [&token, &twin] {
            assert!(world.check(spelling).await.is_ok(), "{:?}: the twin verifies too (and is now cached)", key.alg);
        }
        let revoked = revoking(&world, signature(&token));
        for spelling in [&token, &twin] {
            assert_eq!(world.check_in(&revoked, spelling).await.err(), REVOKED, "{:?}, cached", key.alg);
        }
        let fresh = World::new(pem_source(key.public_pem()));
        assert_eq!(fresh.check_in(&revoked, &twin).await.err(), REVOKED, "{:?}, verified afresh", key.alg);
    }
}

#[tokio::test]
async fn a_revocation_entry_in_another_spelling_matches() {
    let key = TestKey::p256("k");
    let world = World::new(pem_source(key.public_pem()));
    let token = without_jti(&key);
    let padded_twin = format!("{}==", signature(&high_s_twin(&token)));
    let revoked = revoking(&world, &padded_twin);
    assert_eq!(world.check_in(&revoked, &token).await.err(), REVOKED);
    assert!(world.check(&token).await.is_ok(), "not revoked in the snapshot without the entry");
}

/// Padding and non-zero unused bits decode to the same signature, but neither the parser nor
/// jsonwebtoken's strict base64url accepts them: such spellings are no way around revocation.
#[tokio::test]
async fn other_base64url_spellings_of_a_signature_are_refused_before_revocation() {
    let key = TestKey::p256("k");
    let world = World::new(pem_source(key.public_pem()));
    let token = without_jti(&key);
    let last = token.as_bytes()[token.len() - 1];
    assert!(b"AQgw".contains(&last), "86 characters for 64 bytes: the last one's 4 low bits are unused");
    let noisy = format!("{}{}", &token[..token.len() - 1], char::from(last + 1));
    assert_eq!(world.check(&format!("{token}==")).await.err(), Some(TokenError::Malformed.into()), "padded");
    assert_eq!(world.check(&noisy).await.err(), Some(TokenError::BadSignature.into()), "unused bits set");
}
