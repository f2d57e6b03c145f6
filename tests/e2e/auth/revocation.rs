//! Revoked tokens (model.md, RevokedToken) from the file source: refused at once, and also
//! once they have been accepted and cached, when a hot reload revokes them.

use std::time::Duration;

use serde_json::json;
use tollgate_tests::{Issuer, SigningKey, Upstream, eventually};

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
