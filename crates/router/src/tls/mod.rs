//! PLACEHOLDER: TLS termination (certificates, SNI, reload, self-signed).
