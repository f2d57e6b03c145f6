//! Revoked tokens (model.md, RevokedToken) from the file source: refused at once, and also
//! once they have been accepted and cached, when a hot reload revokes them; a token revoked
//! by signature under every spelling of that signature (the ECDSA twin `(r, n - s)`, padding),
//! and whichever spelling the revocation entry uses.

use std::time::Duration;

use serde_json::json;
use tollgate_tests::{Issuer, SigningKey, Upstream, eventually, high_s_twin};

use super::catalog::Catalog;
use super::{assert_rejected, get, token};
use crate::support::gateway;

#[tokio::test]
async fn a_revoked_token_is_401_900901_also_after_it_was_accepted_and_cached() {
    let key = SigningKey::rsa("k1");
    let issuer = Issuer::start(vec![key.clone()]).await;
    let up = Upstream::start("up").await;
    let catalog = Catalog::one_subscriber(&issuer, &up, "app", "ck-app");
    let gw = gateway()
        .api_file("a.yaml", &catalog.yaml())
        .api_file("revoked.yaml", &Catalog::new().revoked_jti("jti-gone").yaml())
        .start()
        .await;
    let client = gw.client();
    let with_jti = |jti: &str| token(&issuer, &key, json!({"azp": "ck-app", "jti": jti}));
    let (gone, live, other) = (with_jti("jti-gone"), with_jti("jti-live"), with_jti("jti-other"));
    let no_jti = token(&issuer, &key, json!({"azp": "ck-app"}));
    assert_rejected(&get(&client, "/pets/1/items", Some(&gone)).await, (401, "900901"), "revoked by jti");
    for token in [&live, &live, &no_jti, &no_jti] {
        assert_eq!(
            get(&client, "/pets/1/items", Some(token)).await.status,
            200,
            "not revoked (the second time cached)"
        );
    }

    let signature = no_jti.rsplit('.').next().unwrap();
    let revoked = Catalog::new().revoked_jti("jti-gone").revoked_jti("jti-live").revoked_signature(signature);
    std::fs::write(gw.dir.join("apis/revoked.yaml"), revoked.yaml()).unwrap();
    let refused = async || get(&client, "/pets/1/items", Some(&live)).await.status == 401;
    assert!(eventually(Duration::from_secs(10), refused).await, "the hot reload revokes the cached token");
    for (case, token) in [("cached, then revoked by jti", &live), ("cached, then revoked by signature", &no_jti)] {
        assert_rejected(&get(&client, "/pets/1/items", Some(token)).await, (401, "900901"), case);
    }
    assert_rejected(&get(&client, "/pets/1/items", Some(&gone)).await, (401, "900901"), "still revoked");
    assert_eq!(get(&client, "/pets/1/items", Some(&other)).await.status, 200, "another jti passes");
}

fn signature(token: &str) -> &str {
    token.rsplit_once('.').map(|(_, signature)| signature).unwrap()
}

/// Base64url `unpadded` with the `=` padding of RFC 4648 (none for an ES384 signature's 128
/// characters, `==` for an ES256 signature's 86).
fn padded(unpadded: &str) -> String {
    format!("{unpadded}{}", "=".repeat((4 - unpadded.len() % 4) % 4))
}

#[tokio::test]
async fn a_revoked_ecdsa_token_is_refused_under_either_spelling_of_its_signature() {
    let (es256, es384) = (SigningKey::ec256("p256"), SigningKey::ec384("p384"));
    let issuer = Issuer::start(vec![es256.clone(), es384.clone()]).await;
    let up = Upstream::start("up").await;
    let catalog = Catalog::one_subscriber(&issuer, &up, "app", "ck-app");
    let no_jti = |key: &SigningKey| token(&issuer, key, json!({"azp": "ck-app"}));
    let as_given = [no_jti(&es256), no_jti(&es384)];
    let as_twin = [no_jti(&es256), no_jti(&es384)];
    let (live, cached) = (no_jti(&es256), no_jti(&es384));
    let mut revoked = Catalog::new();
    for token in &as_given {
        revoked = revoked.revoked_signature(signature(token));
    }
    for token in &as_twin {
        revoked = revoked.revoked_signature(&padded(signature(&high_s_twin(token))));
    }
    let gw = gateway().api_file("a.yaml", &catalog.yaml()).api_file("revoked.yaml", &revoked.yaml()).start().await;
    let client = gw.client();

    for token in [&live, &high_s_twin(&live), &cached, &high_s_twin(&cached)] {
        let reply = get(&client, "/pets/1/items", Some(token)).await;
        assert_eq!(reply.status, 200, "a twin verifies, so only revocation can refuse it: {}", reply.text());
    }
    for (case, tokens) in [("entry as given", &as_given), ("entry as the (padded) twin", &as_twin)] {
        for token in tokens.iter().flat_map(|token| [token.clone(), high_s_twin(token)]) {
            assert_rejected(&get(&client, "/pets/1/items", Some(&token)).await, (401, "900901"), case);
        }
    }

    std::fs::write(gw.dir.join("apis/revoked.yaml"), revoked.revoked_signature(signature(&cached)).yaml()).unwrap();
    let refused = async || get(&client, "/pets/1/items", Some(&cached)).await.status == 401;
    assert!(eventually(Duration::from_secs(10), refused).await, "the hot reload revokes the cached token");
    let twin = high_s_twin(&cached);
    assert_rejected(&get(&client, "/pets/1/items", Some(&twin)).await, (401, "900901"), "its cached twin too");
    assert_eq!(get(&client, "/pets/1/items", Some(&live)).await.status, 200, "another token passes");
}
