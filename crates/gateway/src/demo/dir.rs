//! The demo's temporary directory: a CA and a server certificate for the HTTPS listener, and,
//! when the sample APIs must point elsewhere, a rewritten copy of them.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use super::DemoError;

/// The sample API documents, embedded so that `tollgate demo` also works outside a checkout.
const SAMPLE_APIS: [(&str, &str); 2] = [
    ("petstore.yaml", include_str!("../../../../config/apis/petstore.yaml")),
    ("demo-identity.yaml", include_str!("../../../../config/apis/demo-identity.yaml")),
];

/// Removed (with everything in it) when dropped.
#[derive(Debug)]
pub struct DemoDir {
    dir: tempfile::TempDir,
}

/// PEM files written for the HTTPS listener.
#[derive(Debug, Clone)]
pub struct DemoCerts {
    /// The CA to give clients (`curl --cacert`).
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

// === impl DemoDir ===

impl DemoDir {
    pub fn create() -> Result<Self, DemoError> {
        let dir = tempfile::Builder::new()
            .prefix("tollgate-demo-")
            .tempdir()
            .map_err(|source| DemoError::Files { path: std::env::temp_dir(), source })?;
        Ok(DemoDir { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A new CA and a server certificate signed by it for `localhost`, the loopback
    /// addresses and `extra_ip` (the listener's own address, when it is a specific one).
    pub fn certificates(&self, extra_ip: Option<IpAddr>) -> Result<DemoCerts, DemoError> {
        let key_error = |error: rcgen::Error| DemoError::Key(error.to_string());
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(key_error)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca_params.distinguished_name.push(DnType::CommonName, "Tollgate demo CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().map_err(key_error)?;
        let ca_pem = ca_params.self_signed(&ca_key).map_err(key_error)?.pem();
        let issuer = Issuer::new(ca_params, ca_key);
        let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
        names.extend(extra_ip.filter(|ip| !ip.is_loopback() && !ip.is_unspecified()).map(|ip| ip.to_string()));
        let mut params = CertificateParams::new(names).map_err(key_error)?;
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().map_err(key_error)?;
        let cert_pem = params.signed_by(&key, &issuer).map_err(key_error)?.pem();
        Ok(DemoCerts {
            ca: self.write("ca.pem", &ca_pem)?,
            cert: self.write("server.crt", &cert_pem)?,
            key: self.write("server.key", &key.serialize_pem())?,
        })
    }

    /// The directory of API documents to serve: `source` as it is when it exists and no
    /// rewrite changes it (so edits to it reload live), else a copy of `source` (or of the
    /// embedded samples) in this directory with every `(from, to)` replaced.
    pub fn apis(&self, source: Option<&Path>, rewrites: &[(&str, &str)]) -> Result<PathBuf, DemoError> {
        let documents = match source.filter(|dir| dir.is_dir()) {
            Some(dir) => read_documents(dir)?,
            None => SAMPLE_APIS.iter().map(|(name, text)| ((*name).to_owned(), (*text).to_owned())).collect(),
        };
        let rewritten: Vec<(String, String)> =
            documents.iter().map(|(name, text)| (name.clone(), rewrite(text, rewrites))).collect();
        if let Some(dir) = source.filter(|dir| dir.is_dir())
            && rewritten == documents
        {
            return Ok(dir.to_owned());
        }
        let apis = self.path().join("apis");
        std::fs::create_dir_all(&apis).map_err(|source| DemoError::Files { path: apis.clone(), source })?;
        for (name, text) in &rewritten {
            self.write(&format!("apis/{name}"), text)?;
        }
        Ok(apis)
    }

    fn write(&self, name: &str, text: &str) -> Result<PathBuf, DemoError> {
        let path = self.path().join(name);
        std::fs::write(&path, text).map_err(|source| DemoError::Files { path: path.clone(), source })?;
        Ok(path)
    }
}

/// The `.yaml`, `.yml` and `.json` files of `dir`, by name.
fn read_documents(dir: &Path) -> Result<Vec<(String, String)>, DemoError> {
    let failed = |source| DemoError::Files { path: dir.to_owned(), source };
    let mut documents = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(failed)? {
        let path = entry.map_err(failed)?.path();
        let document = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json"));
        if let (true, Some(name)) = (document, path.file_name().and_then(|n| n.to_str())) {
            let text =
                std::fs::read_to_string(&path).map_err(|source| DemoError::Files { path: path.clone(), source })?;
            documents.push((name.to_owned(), text));
        }
    }
    documents.sort();
    Ok(documents)
}

fn rewrite(text: &str, rewrites: &[(&str, &str)]) -> String {
    rewrites.iter().fold(text.to_owned(), |text, (from, to)| text.replace(from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_samples_are_served_in_place_unless_rewritten() -> Result<(), DemoError> {
        let demo = DemoDir::create()?;
        let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/apis");
        let same = [("http://127.0.0.1:9080", "http://127.0.0.1:9080")];
        assert_eq!(demo.apis(Some(&samples), &same)?, samples);
        let moved = demo.apis(Some(&samples), &[("http://127.0.0.1:9080", "http://127.0.0.1:4242")])?;
        assert_eq!(moved, demo.path().join("apis"));
        let petstore = std::fs::read_to_string(moved.join("petstore.yaml")).unwrap_or_default();
        assert!(
            petstore.contains("http://127.0.0.1:4242/v2") && !petstore.contains("http://127.0.0.1:9080"),
            "{petstore}"
        );
        Ok(())
    }

    #[test]
    fn the_embedded_samples_stand_in_for_a_missing_directory() -> Result<(), DemoError> {
        let demo = DemoDir::create()?;
        let apis = demo.apis(Some(Path::new("/nonexistent/apis")), &[])?;
        assert!(apis.join("petstore.yaml").is_file() && apis.join("demo-identity.yaml").is_file());
        Ok(())
    }

    #[test]
    fn the_server_certificate_is_signed_by_the_ca() -> Result<(), DemoError> {
        let demo = DemoDir::create()?;
        let certs = demo.certificates(None)?;
        let (ca, cert) = (
            std::fs::read_to_string(&certs.ca).unwrap_or_default(),
            std::fs::read_to_string(&certs.cert).unwrap_or_default(),
        );
        assert!(ca.contains("BEGIN CERTIFICATE") && cert.contains("BEGIN CERTIFICATE") && ca != cert);
        assert!(std::fs::read_to_string(&certs.key).unwrap_or_default().contains("PRIVATE KEY"));
        Ok(())
    }
}
