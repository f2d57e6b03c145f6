//! k8s/: `kubectl kustomize` renders the base, the Redis overlay and the monitoring
//! kustomization; every rendered object validates against the Kubernetes schemas
//! (kubernetes-validate, offline, strict, oldest and newest supported versions); and the
//! manifests agree with the gateway configuration they carry, loaded by the gateway's own
//! loader and checked by `tollgate check`; and, in the base and every overlay, the gateway
//! pods get no service links, the HPA alone sets the replica count, and the CPU limit stays
//! close to the request the HPA scales on.

use std::process::Command;

use serde_json::Value;
use tollgate_gateway::config::{self, Config};

use super::tools::{repo, run, text, yaml_documents};
use crate::support::binary;

const KUSTOMIZATIONS: &[&str] = &["k8s/base", "k8s/overlays/redis", "k8s/monitoring"];
/// The oldest Kubernetes the manifests support (autoscaling/v2, policy/v1, seccompProfile)
/// and the newest schemas kubernetes-validate ships.
const SCHEMA_VERSIONS: &[&str] = &["1.27.0", "1.37.0"];

#[test]
fn every_kustomization_renders_and_each_object_validates_against_the_kubernetes_schemas() {
    let dir = tempfile::tempdir().unwrap();
    for kustomization in KUSTOMIZATIONS {
        let rendered = render(kustomization);
        let objects = yaml_documents(&rendered);
        assert!(!objects.is_empty(), "{kustomization} rendered nothing");
        let path = dir.path().join(format!("{}.yaml", kustomization.replace('/', "-")));
        std::fs::write(&path, &rendered).unwrap();
        for version in SCHEMA_VERSIONS {
            let output = run("kubernetes-validate", &["--strict", "-k", version, path.to_str().unwrap()], None);
            let report = format!("{}{}", text(&output.stdout), text(&output.stderr));
            assert!(
                output.status.success() && !report.contains("WARN") && !report.contains("ERROR"),
                "{kustomization} against {version}:\n{report}"
            );
            let passed = report.lines().filter(|line| line.contains(" passed for resource ")).count();
            assert_eq!(
                passed,
                objects.len(),
                "{kustomization} against {version}: not every object was validated:\n{report}"
            );
        }
    }
}

#[test]
fn the_base_deployment_agrees_with_its_gateway_config() {
    let objects = yaml_documents(&render("k8s/base"));
    let deployment = object(&objects, "Deployment", "tollgate");
    let pod = &deployment["spec"]["template"];
    let container = &pod["spec"]["containers"][0];
    let (config, config_text) = gateway_config(&objects, container, pod);
    assert_eq!(port(container, "https"), config.listener.https.port());
    assert_eq!(port(container, "admin"), config.admin.address.port());
    assert!(config.admin.address.ip().is_unspecified(), "probes and Prometheus need the admin port on the pod IP");
    assert_eq!(container["readinessProbe"]["httpGet"], serde_json::json!({"path": "/health/ready", "port": "admin"}));
    assert_eq!(container["livenessProbe"]["httpGet"], serde_json::json!({"path": "/health/live", "port": "admin"}));
    let grace = pod["spec"]["terminationGracePeriodSeconds"].as_u64().unwrap();
    let shutdown = config.shutdown.drain_seconds + config.shutdown.timeout_seconds;
    assert!(grace > shutdown, "terminationGracePeriodSeconds {grace} must exceed drain + timeout = {shutdown}");
    assert_locked_down(pod, container);
    let tls = config.tls.as_ref().expect("[tls] configured");
    assert_eq!(volume_of(pod, container, tls.cert.to_str().unwrap())["secret"]["secretName"], "tollgate-tls");
    assert_eq!(volume_of(pod, container, tls.key.to_str().unwrap())["secret"]["secretName"], "tollgate-tls");
    let state = config.source.state_dir.as_ref().expect("state_dir").to_str().unwrap().to_owned();
    assert!(
        volume_of(pod, container, &format!("{state}/snapshot"))["emptyDir"].is_object(),
        "state_dir must be a writable volume"
    );
    let token = env_var(container, "TOLLGATE_SOURCE__TOKEN");
    assert_eq!(token["valueFrom"]["secretKeyRef"]["name"], "tollgate-control-plane");
    assert_workload_objects(&objects, pod, &config);
    tollgate_check_accepts(&config_text);
}

#[test]
fn the_redis_overlay_shares_rate_limits_through_its_own_redis() {
    let base = yaml_documents(&render("k8s/base"));
    let objects = yaml_documents(&render("k8s/overlays/redis"));
    for object in &base {
        let (kind, name) = (object["kind"].as_str().unwrap(), object["metadata"]["name"].as_str().unwrap());
        assert!(
            objects.iter().any(|o| o["kind"] == kind && o["metadata"]["name"] == name),
            "overlay lost {kind}/{name}"
        );
    }
    let pod = &object(&objects, "Deployment", "tollgate")["spec"]["template"];
    let container = &pod["spec"]["containers"][0];
    let (config, _) = gateway_config(&objects, container, pod);
    assert_eq!(config.rate_limit.backend, "redis");
    let url = config.rate_limit.redis_url.strip_prefix("redis://").expect("redis:// URL");
    let (host, port) = url.split_once(':').expect("host:port");
    let service = object(&objects, "Service", host);
    assert_eq!(service["spec"]["ports"][0]["port"].as_u64(), port.parse().ok(), "REDIS_URL port");
    let redis_pod = &object(&objects, "Deployment", "tollgate-redis")["spec"]["template"];
    assert!(
        selects(&service["spec"]["selector"], &redis_pod["metadata"]["labels"]),
        "the Redis Service selects the Redis pods"
    );
    assert_locked_down(redis_pod, &redis_pod["spec"]["containers"][0]);
    let to_redis = object(&objects, "NetworkPolicy", "tollgate-to-redis");
    assert!(selects(&to_redis["spec"]["podSelector"]["matchLabels"], &pod["metadata"]["labels"]));
    assert!(selects(
        &to_redis["spec"]["egress"][0]["to"][0]["podSelector"]["matchLabels"],
        &redis_pod["metadata"]["labels"]
    ));
    let redis_policy = object(&objects, "NetworkPolicy", "tollgate-redis");
    let admitted = &redis_policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"];
    assert!(selects(admitted, &pod["metadata"]["labels"]), "Redis admits the gateway pods");
}

/// Kubernetes injects `<SERVICE>_PORT=tcp://...`, `<SERVICE>_SERVICE_HOST` and so on for every
/// Service of the namespace; the Service named `tollgate` would make them `TOLLGATE_*`
/// configuration overrides that the gateway refuses (issue 11: the kit crash-looped).
#[test]
fn the_gateway_pods_get_no_service_links_in_the_base_and_every_overlay() {
    for kustomization in gateway_kustomizations() {
        let objects = yaml_documents(&render(&kustomization));
        let pod = &object(&objects, "Deployment", "tollgate")["spec"]["template"];
        assert_eq!(
            pod["spec"]["enableServiceLinks"], false,
            "{kustomization}: the gateway pods must set enableServiceLinks: false"
        );
    }
}

/// A Deployment that pins `replicas` while an HPA scales it is reset to that count by every
/// `kubectl apply`, undoing a scale-out under load.
#[test]
fn a_deployment_scaled_by_an_hpa_pins_no_replicas_in_the_base_and_every_overlay() {
    for kustomization in gateway_kustomizations() {
        let objects = yaml_documents(&render(&kustomization));
        let hpas: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "HorizontalPodAutoscaler").collect();
        assert!(!hpas.is_empty(), "{kustomization}: no HorizontalPodAutoscaler rendered");
        for hpa in hpas {
            let target = &hpa["spec"]["scaleTargetRef"];
            assert_eq!(target["kind"], "Deployment", "{kustomization}: the HPA scales a Deployment");
            let deployment = object(&objects, "Deployment", target["name"].as_str().unwrap());
            assert!(
                deployment["spec"].get("replicas").is_none(),
                "{kustomization}: Deployment/{} sets replicas = {} although HPA/{} owns its scale",
                target["name"],
                deployment["spec"]["replicas"],
                hpa["metadata"]["name"]
            );
        }
    }
}

/// The HPA's CPU target is a share of the request: with a limit far above it (250m against
/// 2 CPUs) it scaled out at a fraction of what a pod can do. docs/operations.md ("Sizing")
/// derives the request from the measured CPU cost per request.
#[test]
fn the_gateway_cpu_limit_stays_close_to_the_request_the_hpa_scales_on() {
    for kustomization in gateway_kustomizations() {
        let objects = yaml_documents(&render(&kustomization));
        let container = &object(&objects, "Deployment", "tollgate")["spec"]["template"]["spec"]["containers"][0];
        let request = millicores(&container["resources"]["requests"]["cpu"]);
        let limit = millicores(&container["resources"]["limits"]["cpu"]);
        assert!(
            limit >= request && limit <= 2 * request,
            "{kustomization}: CPU limit {limit}m against request {request}m: keep the limit within 2× the request"
        );
    }
}

/// `k8s/base` and every `k8s/overlays/*`: the kustomizations that deploy the gateway.
fn gateway_kustomizations() -> Vec<String> {
    let overlays = std::fs::read_dir(repo().join("k8s/overlays")).unwrap();
    let mut names: Vec<String> = overlays
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().join("kustomization.yaml").is_file())
        .map(|entry| format!("k8s/overlays/{}", entry.file_name().to_str().unwrap()))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no overlay under k8s/overlays");
    std::iter::once("k8s/base".to_owned()).chain(names).collect()
}

/// A Kubernetes CPU quantity (`"1"`, `"1.5"`, `"500m"`, or a YAML number) in millicores.
fn millicores(quantity: &Value) -> u64 {
    let text = match quantity {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other @ (Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_)) => {
            panic!("not a CPU quantity: {other}")
        }
    };
    match text.strip_suffix('m') {
        Some(milli) => milli.parse().unwrap_or_else(|e| panic!("CPU quantity {text:?}: {e}")),
        None => {
            let cpus: f64 = text.parse().unwrap_or_else(|e| panic!("CPU quantity {text:?}: {e}"));
            (cpus * 1000.0).round() as u64
        }
    }
}

fn render(kustomization: &str) -> String {
    let output = run("kubectl", &["kustomize", kustomization], None);
    let stderr = text(&output.stderr);
    assert!(output.status.success() && stderr.trim().is_empty(), "kubectl kustomize {kustomization}:\n{stderr}");
    text(&output.stdout)
}

fn object<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind}/{name} rendered"))
}

/// The gateway.toml the container's `--config` names, read from the ConfigMap mounted there,
/// loaded with the container's literal environment by the gateway's own loader.
fn gateway_config(objects: &[Value], container: &Value, pod: &Value) -> (Config, String) {
    let args: Vec<&str> = container["args"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let path = args.iter().skip_while(|a| **a != "--config").nth(1).expect("--config FILE");
    let volume = volume_of(pod, container, path);
    let config_map = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == volume["configMap"]["name"])
        .expect("the ConfigMap of the --config volume");
    let key = path.rsplit('/').next().unwrap();
    let toml = config_map["data"][key].as_str().unwrap_or_else(|| panic!("ConfigMap has no {key}")).to_owned();
    let env: Vec<(String, String)> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| Some((e["name"].as_str()?.to_owned(), e["value"].as_str()?.to_owned())))
        .collect();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &toml).unwrap();
    let config =
        config::parse(Some(file.path()), env).unwrap_or_else(|e| panic!("the rendered gateway.toml: {e}")).config;
    (config, toml)
}

/// The pod volume mounted at the directory holding `path` in `container`.
fn volume_of<'a>(pod: &'a Value, container: &Value, path: &str) -> &'a Value {
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| path.starts_with(&format!("{}/", m["mountPath"].as_str().unwrap().trim_end_matches('/'))))
        .max_by_key(|m| m["mountPath"].as_str().unwrap().len())
        .unwrap_or_else(|| panic!("{path} is on no volume mount"));
    pod["spec"]["volumes"].as_array().unwrap().iter().find(|v| v["name"] == mount["name"]).expect("the mounted volume")
}

fn port(container: &Value, name: &str) -> u16 {
    let port = container["ports"].as_array().unwrap().iter().find(|p| p["name"] == name);
    port.and_then(|p| p["containerPort"].as_u64()).unwrap_or_else(|| panic!("no container port {name}")) as u16
}

fn env_var<'a>(container: &'a Value, name: &str) -> &'a Value {
    container["env"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("no env {name}"))
}

/// Non-root, read-only root filesystem, no privilege escalation, no capabilities, resources.
fn assert_locked_down(pod: &Value, container: &Value) {
    let name = &container["name"];
    assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true, "{name}: runAsNonRoot");
    assert!(pod["spec"]["securityContext"]["runAsUser"].as_u64() > Some(0), "{name}: runAsUser");
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true, "{name}: readOnlyRootFilesystem");
    assert_eq!(security["allowPrivilegeEscalation"], false, "{name}: allowPrivilegeEscalation");
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]), "{name}: capabilities");
    for kind in ["requests", "limits"] {
        let resources = &container["resources"][kind];
        assert!(resources["cpu"].is_string() && resources["memory"].is_string(), "{name}: resources.{kind}");
    }
}

/// Service, HPA, PDB and NetworkPolicy point at the gateway pods and ports.
fn assert_workload_objects(objects: &[Value], pod: &Value, config: &Config) {
    let labels = &pod["metadata"]["labels"];
    let service = object(objects, "Service", "tollgate");
    assert!(selects(&service["spec"]["selector"], labels), "the Service selects the gateway pods");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "https");
    let hpa = object(objects, "HorizontalPodAutoscaler", "tollgate");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"],
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "tollgate"})
    );
    assert_eq!(hpa["spec"]["metrics"][0]["resource"]["name"], "cpu");
    assert!(hpa["spec"]["minReplicas"].as_u64() >= Some(2), "at least two replicas");
    let pdb = object(objects, "PodDisruptionBudget", "tollgate");
    assert!(selects(&pdb["spec"]["selector"]["matchLabels"], labels), "the PDB covers the gateway pods");
    let policy = object(objects, "NetworkPolicy", "tollgate");
    assert!(
        selects(&policy["spec"]["podSelector"]["matchLabels"], labels),
        "the NetworkPolicy covers the gateway pods"
    );
    let ports = |rules: &Value| -> Vec<u64> {
        let rules = rules.as_array().unwrap().iter();
        rules
            .flat_map(|r| r["ports"].as_array().cloned().unwrap_or_default())
            .filter_map(|p| p["port"].as_u64())
            .collect()
    };
    let ingress = ports(&policy["spec"]["ingress"]);
    for admitted in [config.listener.https.port(), config.admin.address.port()] {
        assert!(ingress.contains(&u64::from(admitted)), "ingress to port {admitted} (clients, Prometheus)");
    }
    assert!(ports(&policy["spec"]["egress"]).contains(&53), "egress to DNS");
}

fn selects(selector: &Value, labels: &Value) -> bool {
    let selector = selector.as_object().expect("a label selector");
    !selector.is_empty() && selector.iter().all(|(key, value)| &labels[key] == value)
}

/// `tollgate check` accepts the rendered file (the certificate paths pointed at real files).
fn tollgate_check_accepts(toml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = tollgate_tests::Pki::new().issue(&["localhost"]).write(dir.path(), "server");
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, toml).unwrap();
    let output = Command::new(binary())
        .arg("check")
        .arg("--config")
        .arg(&path)
        .env("TOLLGATE_TLS__CERT", &cert)
        .env("TOLLGATE_TLS__KEY", &key)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "tollgate check:\n{}{}", text(&output.stdout), text(&output.stderr));
}

/// The binary, run with the rendered gateway.toml of the base and of every overlay and the
/// environment a pod of the rendered namespace gets: the Deployment's env values and the
/// service links Kubernetes injects for every Service (`enableServiceLinks: false` is belt
/// and braces; older clusters and other platforms inject such variables anyway). It becomes
/// ready, and one warning names every injected `TOLLGATE_` variable. Only what cannot run on
/// a test machine is overridden: addresses (port 0), certificate files, the state directory
/// the source (a directory of files instead of the control plane) and the log format.
#[tokio::test]
async fn the_kit_gateway_becomes_ready_with_a_pods_service_link_environment() {
    for kustomization in ["k8s/base", "k8s/overlays/redis"] {
        let objects = yaml_documents(&render(kustomization));
        let pod = &object(&objects, "Deployment", "tollgate")["spec"]["template"];
        let container = &pod["spec"]["containers"][0];
        let (_, toml) = gateway_config(&objects, container, pod);
        let links = service_links(&objects);
        assert!(links.iter().any(|(name, _)| name == "TOLLGATE_PORT"), "{kustomization}: a Service named tollgate");
        let setup = crate::support::gateway();
        let dir = setup.dir().to_owned();
        let (cert, key) = setup.pki().issue(&["localhost"]).write(&dir, "server");
        std::fs::create_dir_all(dir.join("apis")).unwrap();
        std::fs::write(dir.join("apis/a.yaml"), "apis: []\n").unwrap();
        let config = dir.join("gateway.toml");
        std::fs::write(&config, &toml).unwrap();
        let mut setup = setup;
        let env = container["env"].as_array().unwrap().iter();
        for (name, value) in env.filter_map(|e| Some((e["name"].as_str()?, e["value"].as_str()?))) {
            setup = setup.env(name, value);
        }
        for (name, value) in &links {
            setup = setup.env(name, value);
        }
        let overrides = [
            ("TOLLGATE_LISTENER__HTTPS", "127.0.0.1:0".to_owned()),
            ("TOLLGATE_ADMIN__ADDRESS", "127.0.0.1:0".to_owned()),
            ("TOLLGATE_TLS__CERT", cert.display().to_string()),
            ("TOLLGATE_TLS__KEY", key.display().to_string()),
            ("TOLLGATE_SOURCE__KIND", "file".to_owned()),
            ("TOLLGATE_SOURCE__PATH", dir.join("apis").display().to_string()),
            ("TOLLGATE_SOURCE__STATE_DIR", dir.join("state").display().to_string()),
            // The harness reads the bound addresses from the text log line.
            ("TOLLGATE_LOG__FORMAT", "text".to_owned()),
        ];
        for (name, value) in &overrides {
            setup = setup.env(name, value);
        }
        let mut gw = setup.start_with_config(&config).await;
        assert_eq!(gw.admin().get("/health/ready").await.status, 200, "{kustomization}");
        assert_eq!(gw.stop().await.code(), Some(0), "{kustomization}");
        gw.logs().closed().await;
        let stderr = gw.logs().stderr_text();
        let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("name no setting")).collect();
        assert_eq!(warnings.len(), 1, "{kustomization}: {stderr}");
        for (name, _) in links.iter().filter(|(name, _)| name.starts_with("TOLLGATE_")) {
            assert!(warnings[0].contains(name.as_str()), "{kustomization}: {name} not named: {}", warnings[0]);
        }
    }
}

/// The variables Kubernetes puts into a pod for every Service of its namespace (docker-link
/// style: `{NAME}_SERVICE_HOST`, `{NAME}_PORT_{port}_TCP_ADDR`, ...), with made-up cluster IPs.
fn service_links(objects: &[Value]) -> Vec<(String, String)> {
    let mut links = Vec::new();
    for (index, service) in objects.iter().filter(|o| o["kind"] == "Service").enumerate() {
        let name = service["metadata"]["name"].as_str().unwrap().to_uppercase().replace('-', "_");
        let ip = format!("10.96.0.{}", index + 10);
        let ports = service["spec"]["ports"].as_array().unwrap();
        for (i, port) in ports.iter().enumerate() {
            let (number, proto) = (port["port"].as_u64().unwrap(), port["protocol"].as_str().unwrap_or("TCP"));
            let prefix = format!("{name}_PORT_{number}_{proto}");
            links.extend([
                (prefix.clone(), format!("{}://{ip}:{number}", proto.to_lowercase())),
                (format!("{prefix}_PROTO"), proto.to_lowercase()),
                (format!("{prefix}_PORT"), number.to_string()),
                (format!("{prefix}_ADDR"), ip.clone()),
            ]);
            if let Some(port_name) = port["name"].as_str() {
                links.push((
                    format!("{name}_SERVICE_PORT_{}", port_name.to_uppercase().replace('-', "_")),
                    number.to_string(),
                ));
            }
            if i == 0 {
                links.push((format!("{name}_SERVICE_HOST"), ip.clone()));
                links.push((format!("{name}_SERVICE_PORT"), number.to_string()));
                links.push((format!("{name}_PORT"), format!("{}://{ip}:{number}", proto.to_lowercase())));
            }
        }
    }
    links
}
