use super::*;

fn broker(raw: &str) -> BrokerUrl {
    BrokerUrl::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"))
}

#[test]
fn choreo_connect_urls_lose_their_quoted_retry_options_and_keep_credentials() {
    let cc = broker("amqp://admin:pwd@apim:5672?retries='10'&connectdelay='30'");
    assert_eq!(cc.uri.authority.host, "apim");
    assert_eq!(cc.uri.authority.port, 5672);
    assert_eq!(cc.uri.authority.userinfo.username, "admin");
    assert_eq!(cc.uri.authority.userinfo.password, "pwd");
    assert_eq!(cc.uri.vhost, "/", "no path is the default vhost");
    assert_eq!(cc.shown(), "amqp://apim:5672");
    let with_heartbeat = broker("amqp://apim?Retries='5'&heartbeat=30&connectdelay='1'");
    assert_eq!(with_heartbeat.uri.query.heartbeat, Some(30), "the AMQP URI's own options are kept");
    assert_eq!(with_heartbeat.uri.authority.port, 5672);
}

#[test]
fn ip_hosts_ports_vhosts_and_default_users_are_read_as_written() {
    let ip = broker("amqp://10.1.2.3:5673");
    assert_eq!(ip.uri.authority.host, "10.1.2.3", "lapin's own parser would say localhost");
    assert_eq!(ip.uri.authority.userinfo.username, "guest");
    assert_eq!(broker("amqp://[::1]:5672").uri.authority.host, "::1");
    assert_eq!(broker("amqps://mq.example").uri.authority.port, 5671);
    assert!(matches!(broker("amqps://mq.example").uri.scheme, AMQPScheme::AMQPS));
    assert_eq!(broker("amqp://h/").uri.vhost, "/");
    assert_eq!(broker("amqp://h/%2f").uri.vhost, "/");
    let tenant = broker("amqp://u:p%40ss@h:1/tenant%20a");
    assert_eq!(tenant.uri.vhost, "tenant a");
    assert_eq!(tenant.uri.authority.userinfo.password, "p@ss");
    assert_eq!(tenant.shown(), "amqp://h:1/tenant%20a");
    assert_eq!(broker("amqp://user@h").uri.authority.userinfo.password, "", "a user without a password");
}

#[test]
fn bad_urls_are_refused_without_showing_credentials() {
    assert_eq!(HubSettings::new::<&str>(&[]).err(), Some(HubSettingsError::NoBrokers));
    for (raw, reason) in [
        ("http://admin:topsecret@apim:5672", "scheme"),
        ("amqp://admin:topsecret@", "host"),
        ("amqp://admin:topsecret@apim:99999", "port"),
        ("amqp://admin:topsecret@apim/%ff", "UTF-8"),
        ("amqp://admin:topsecret@apim?heartbeat=soon", "invalid digit"),
        ("not a url with topsecret", "relative URL"),
    ] {
        let error = BrokerUrl::parse(raw).err().unwrap_or_else(|| panic!("{raw} was accepted"));
        let message = error.to_string();
        assert!(message.contains(reason), "{raw}: {message}");
        assert!(!message.contains("topsecret"), "{raw}: {message}");
    }
    assert_eq!(without_userinfo("amqp://a:b@c@host:1/v?x=1"), "amqp://host:1/v?x=1");
}

#[test]
fn settings_never_show_passwords() {
    let settings = HubSettings::new(&["amqp://admin:topsecret@apim:5672", "amqp://b"])
        .unwrap_or_else(|e| panic!("{e}"))
        .with_backoff(Duration::from_millis(20), Duration::from_millis(10))
        .with_ca_pem("PEM".into());
    let shown = format!("{settings:?}");
    assert!(!shown.contains("topsecret") && shown.contains("amqp://apim:5672"), "{shown}");
    assert_eq!(settings.backoff_max, settings.backoff_min, "max is never below min");
    let brokers: Vec<&str> = settings.brokers().iter().map(BrokerUrl::shown).collect();
    assert_eq!(brokers, ["amqp://apim:5672", "amqp://b:5672"]);
}
